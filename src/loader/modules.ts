// Multiboot modules (spec 0.6.96, section 3.3): files the boot loader places in memory beside the
// kernel, each with a command line, listed in the information structure (flags bit 3). As QEMU's
// `-initrd "FILE ARGS,..."` and GRUB's `module` do, each module starts on a page boundary after the
// kernel and the one before it; its command line is the text it was given (file name, then any
// arguments).

import { LoadError, hex } from "./load-error.js";

export interface ModuleFile {
  bytes: Uint8Array;
  /** The module's command line, as the kernel reads it from the module table. */
  cmdline: string;
}

export interface PlacedModule {
  /** Guest-physical address of its first byte (page-aligned). */
  start: number;
  /** One past its last byte. */
  end: number;
  cmdline: string;
}

const PAGE = 4096;
const pageAlign = (n: number) => Math.ceil(n / PAGE) * PAGE;

/** Copies the modules into `ram` from the first page boundary at or after `after`; returns where each went. */
export function placeModules(ram: Uint8Array, after: number, modules: readonly ModuleFile[]): PlacedModule[] {
  let next = pageAlign(after);
  return modules.map(({ bytes, cmdline }, i) => {
    const start = next;
    const end = start + bytes.length;
    if (end > ram.length) {
      throw new LoadError(`module ${i + 1} (${cmdline}) does not fit in guest memory: ${bytes.length} bytes at ${hex(start)}, RAM ends at ${hex(ram.length)}`);
    }
    ram.set(bytes, start);
    next = pageAlign(end);
    return { start, end, cmdline };
  });
}
