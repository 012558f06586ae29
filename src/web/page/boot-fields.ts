// The boot-time fields beside the guest picker: the kernel command line (the text after the
// kernel's path, as the CLI's --cmdline) and guest RAM. RAM is read with the CLI's own parser
// (vmm/memory-size.ts), and a bad size is a message in the page, not a silent default.

import { MEMORY_SIZE_RULE, parseMemoryMiB } from "../../vmm/memory-size.js";

export interface BootChoices {
  cmdline: string;
  memoryMiB: number;
}

export class BootFields {
  constructor(
    private readonly cmdline: HTMLInputElement,
    private readonly memory: HTMLInputElement,
  ) {}

  /** The fields' values, or what is wrong with them. */
  values(): BootChoices | { problem: string } {
    const memoryMiB = parseMemoryMiB(this.memory.value);
    if (memoryMiB === undefined) return { problem: `Guest RAM: "${this.memory.value}" is not ${MEMORY_SIZE_RULE}` };
    return { cmdline: this.cmdline.value, memoryMiB };
  }

  set({ cmdline, memoryMiB }: BootChoices): void {
    this.cmdline.value = cmdline;
    this.memory.value = String(memoryMiB);
  }

  /** Calls `listener` after the user changes either field. */
  onChange(listener: () => void): void {
    for (const field of [this.cmdline, this.memory]) field.addEventListener("change", listener);
  }
}
