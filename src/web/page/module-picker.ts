// The L2 guest for a guest hypervisor (guests/nestvisor.elf): a Multiboot module booted after the
// kernel, as the CLI's `--module "FILE [ARGS]"`. The user picks a sample guest, or a file of their
// own, and may give it arguments; a boot with a module offers the guest its CPU's nesting (`--nested
// vmx` on the Intel CPU, `--nested svm` on the AMD one), as nestvisor needs. A sample that is only
// an L2 (a boot sector: guests/realmode.bin) is among the choices. Booting nestvisor with no module chosen picks DEFAULT_L2 for it, so that a
// sample choice or a link boots something that runs. Whether a module fits in guest RAM is the
// loader's call in the worker; its message comes back as the page's error line. A sample L2 and
// its arguments travel in the page's links (setup-link.ts: l2, l2-args); a file cannot.

import type { BootModule } from "../protocol.js";
import type { GuestEntry } from "./guest-picker.js";

/** The sample guest hypervisor, and the L2 it gets when none is chosen. */
export const HYPERVISOR_GUEST = "nestvisor";
export const DEFAULT_L2 = "detect";
/** The select's value while a file of the user's own is the module. */
const OWN_FILE = "file:";

export interface ModuleElements {
  select: HTMLSelectElement;
  args: HTMLInputElement;
  file: HTMLInputElement;
}

export class ModulePicker {
  private guests: GuestEntry[] = [];
  private ownFile: File | undefined;

  constructor(private readonly elements: ModuleElements) {
    elements.file.addEventListener("change", () => {
      const chosen = elements.file.files?.[0];
      elements.file.value = "";
      if (!chosen) return;
      this.ownFile = chosen;
      elements.select.replaceChildren(...this.options(chosen.name));
      elements.select.value = OWN_FILE;
    });
  }

  /** The sample guests, from the guest picker's list (guests/manifest.json). */
  list(guests: readonly GuestEntry[]): void {
    this.guests = guests.filter((guest) => guest.name !== HYPERVISOR_GUEST);
    this.elements.select.replaceChildren(...this.options(this.ownFile?.name));
    this.elements.select.value = "";
  }

  /** The modules for booting the sample or file `kernel`: none, or the L2 chosen (DEFAULT_L2 for nestvisor); or why it cannot be read. */
  async modules(kernel: string): Promise<BootModule[] | { problem: string }> {
    const { select, args } = this.elements;
    this.suggest(kernel);
    const withArgs = (name: string) => (args.value.trim() === "" ? name : `${name} ${args.value.trim()}`);
    if (select.value === "") return [];
    if (select.value === OWN_FILE && this.ownFile) {
      try {
        return [{ bytes: await this.ownFile.arrayBuffer(), cmdline: withArgs(this.ownFile.name) }];
      } catch (error) {
        return { problem: `cannot read the L2 module ${this.ownFile.name}: ${(error as Error).message}` };
      }
    }
    const guest = this.guests.find((candidate) => candidate.name === select.value);
    if (!guest) return [];
    const response = await fetch(`guests/${guest.file}`);
    if (!response.ok) return { problem: `cannot load the L2 module ${guest.file}: HTTP ${response.status}` };
    return [{ bytes: await response.arrayBuffer(), cmdline: withArgs(`guests/${guest.file}`) }];
  }

  /** The L2 chosen, as a link names it: a sample guest and its arguments, or none (also for a file of the user's own). */
  choice(): { l2?: string; l2Args: string } {
    const { select, args } = this.elements;
    const sample = this.guests.some((guest) => guest.name === select.value) ? select.value : undefined;
    return sample === undefined ? { l2Args: "" } : { l2: sample, l2Args: args.value.trim() };
  }

  /** Shows a link's L2 (a sample guest the list has, or none) and its arguments. */
  show(l2: string | undefined, args: string): void {
    this.elements.select.value = l2 ?? "";
    this.elements.args.value = args;
  }

  /** The sample `kernel` is chosen: nestvisor gets DEFAULT_L2 if no L2 is chosen yet. */
  suggest(kernel: string): void {
    const { select } = this.elements;
    if (select.value === "" && kernel === HYPERVISOR_GUEST && this.guests.some((guest) => guest.name === DEFAULT_L2)) select.value = DEFAULT_L2;
  }

  private options(ownFile: string | undefined): HTMLOptionElement[] {
    return [
      new Option("none", ""),
      ...this.guests.map((guest) => new Option(guest.name, guest.name)),
      ...(ownFile === undefined ? [] : [new Option(`your file: ${ownFile}`, OWN_FILE)]),
    ];
  }
}
