// The Multiboot boot loader as one call: parse the kernel, copy it into guest RAM, write the
// information structure after it, and describe the entry state. This is what QEMU's `-kernel` does
// for a Multiboot kernel; VirtualMachine.loadKernel() applies the result to the VMCS.

import { writeBootInfo } from "./boot-info.js";
import { copyKernel, parseKernel, type KernelImage } from "./kernel-image.js";
import { placeModules, type ModuleFile, type PlacedModule } from "./modules.js";

export interface LoadedKernel {
  image: KernelImage;
  /** Physical entry point (EIP at entry). */
  entry: number;
  /** Physical address of the Multiboot information (EBX at entry). */
  bootInfoAddr: number;
  /** Where the modules went, in order. */
  modules: PlacedModule[];
  /** One past the last byte used by the kernel and its boot information. */
  end: number;
}

/**
 * Loads `file` into `ram` (index = guest-physical address), with its modules after it. `cmdline` is
 * passed to the kernel verbatim; QEMU's convention is the kernel's path, then a space and the
 * user's -append text.
 * Throws LoadError with a one-line message for anything that is not a loadable Multiboot kernel.
 */
export function loadMultibootKernel(ram: Uint8Array, file: Uint8Array, cmdline: string, moduleFiles: readonly ModuleFile[] = []): LoadedKernel {
  if (!(file instanceof Uint8Array)) throw new TypeError(`the kernel must be the file's bytes as a Uint8Array, not ${typeof file}`);
  const image = parseKernel(file);
  copyKernel(ram, file, image);
  const modules = placeModules(ram, image.end, moduleFiles);
  const info = writeBootInfo(ram, modules.at(-1)?.end ?? image.end, cmdline, modules);
  return { image, entry: image.entry, bootInfoAddr: info.addr, modules, end: info.addr + info.size };
}

/** The command line QEMU builds for `-kernel PATH -append TEXT`. */
export function qemuStyleCmdline(kernelPath: string, append = ""): string {
  return append === "" ? kernelPath : `${kernelPath} ${append}`;
}
