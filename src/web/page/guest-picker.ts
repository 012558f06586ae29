// Choosing what to boot: the sample guests listed in guests/manifest.json (written by the web
// build from guests/*.elf, and guests/*.bin, which are only L2 modules), booted from the picker or by a link (setup-link.ts), or a kernel file
// of the user's own through the file input or dropped on its drop zone (file-input.ts) or anywhere
// else on the page (file-drop.ts). Whether a file
// is a Multiboot kernel is the loader's call, in the worker; its LoadError message comes back as
// the page's error line.

import { acceptFiles } from "./file-input.js";

export interface GuestEntry {
  name: string;
  file: string;
  about: string;
  /** A boot sector, no Multiboot kernel (guests/realmode.bin): only a guest hypervisor's L2, never booted itself. */
  l2Only?: boolean;
}

/** What is booted: its name on the page, and the path the kernel sees first on its command line (the CLI's, for a sample). */
export interface KernelSource {
  name: string;
  path: string;
  /** A sample guest, which a link can name; a file of the user's own cannot travel in one. */
  sample: boolean;
}

export type BootRequest = (kernel: ArrayBuffer, source: KernelSource) => void;

/** What the page boots when it is opened without a link: a guest that never ends. */
export const DEFAULT_GUEST = "playground";

export interface PickerElements {
  select: HTMLSelectElement;
  boot: HTMLButtonElement;
  about: HTMLElement;
  file: HTMLInputElement;
  dropZone: HTMLElement;
}

export class GuestPicker {
  /** Every sample of the manifest, and those of them that boot as kernels. */
  private samples: GuestEntry[] = [];
  private guests: GuestEntry[] = [];
  /** A linked guest's kernel, fetched while the VM loads, for the boot that the link asks for. */
  private prefetched: { guest: GuestEntry; response: Promise<Response> } | undefined;
  /** Counts boots asked for: one whose kernel arrives after a later one was asked for is dropped. */
  private boots = 0;

  constructor(
    private readonly elements: PickerElements,
    private readonly onBoot: BootRequest,
    private readonly onError: (message: string) => void,
  ) {
    const { select, boot, file, dropZone } = elements;
    select.addEventListener("change", () => this.describe());
    boot.addEventListener("click", () => void this.bootSample());
    acceptFiles(file, dropZone, (chosen) => void this.bootFile(chosen));
  }

  async load(): Promise<void> {
    const response = await fetch("guests/manifest.json");
    if (!response.ok) throw new Error(`cannot load the guest list: HTTP ${response.status}`);
    this.samples = (await response.json()) as GuestEntry[];
    this.guests = this.samples.filter((guest) => !guest.l2Only);
    this.elements.select.replaceChildren(...this.guests.map((guest) => new Option(guest.name, guest.name)));
    if (this.guests.some((guest) => guest.name === DEFAULT_GUEST)) this.elements.select.value = DEFAULT_GUEST;
    this.describe();
  }

  /** Starts fetching the sample guest `name` (a link's, before the VM is ready), for its next boot. */
  prefetch(name: string): void {
    const guest = this.guests.find((candidate) => candidate.name === name);
    if (guest) this.prefetched = { guest, response: fetch(`guests/${guest.file}`) };
  }

  /** The VM is ready: booting is possible. */
  ready(): void {
    this.elements.boot.disabled = this.guests.length === 0;
  }

  /** The samples (guests/manifest.json), once loaded, the L2-only ones included. */
  entries(): readonly GuestEntry[] {
    return this.samples;
  }

  /** The sample guests that boot as kernels. */
  names(): string[] {
    return this.guests.map((guest) => guest.name);
  }

  /** The samples that are only L2 modules. */
  l2OnlyNames(): string[] {
    return this.samples.filter((guest) => guest.l2Only).map((guest) => guest.name);
  }

  /** Selects the sample guest `name` (one of names()) and boots it. */
  boot(name: string): Promise<void> {
    this.elements.select.value = name;
    this.describe();
    return this.bootSample();
  }

  async bootFile(file: File): Promise<void> {
    const boot = ++this.boots;
    let kernel: ArrayBuffer;
    try {
      kernel = await file.arrayBuffer();
    } catch (error) {
      return this.onError(`cannot read ${file.name}: ${(error as Error).message}`);
    }
    if (boot === this.boots) this.onBoot(kernel, { name: file.name, path: file.name, sample: false });
  }

  private describe(): void {
    this.elements.about.textContent = this.selected()?.about ?? "";
  }

  private selected(): GuestEntry | undefined {
    return this.guests.find((guest) => guest.name === this.elements.select.value);
  }

  private async bootSample(): Promise<void> {
    const guest = this.selected();
    if (!guest) return;
    const boot = ++this.boots;
    const prefetched = this.prefetched?.guest === guest ? this.prefetched.response : undefined;
    this.prefetched = undefined;
    const response = await (prefetched ?? fetch(`guests/${guest.file}`));
    if (!response.ok) return this.onError(`cannot load ${guest.file}: HTTP ${response.status}`);
    const kernel = await response.arrayBuffer();
    if (boot === this.boots) this.onBoot(kernel, { name: guest.name, path: `guests/${guest.file}`, sample: true });
  }
}
