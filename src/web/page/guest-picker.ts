// Choosing what to boot: the sample guests listed in guests/manifest.json (written by the web
// build from guests/*.elf), booted from the picker or by a link to the page ending in
// `#guest=NAME`, or a kernel file of the user's own through the file input or dropped on the drop
// zone. Whether a file is a Multiboot kernel is the loader's call, in the worker; its
// LoadError message comes back as the page's error line.

import { acceptFiles } from "./file-input.js";

export interface GuestEntry {
  name: string;
  file: string;
  about: string;
}

export type BootRequest = (kernel: ArrayBuffer, name: string) => void;

export interface PickerElements {
  select: HTMLSelectElement;
  boot: HTMLButtonElement;
  about: HTMLElement;
  file: HTMLInputElement;
  dropZone: HTMLElement;
}

export class GuestPicker {
  private guests: GuestEntry[] = [];

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
    this.guests = (await response.json()) as GuestEntry[];
    this.elements.select.replaceChildren(...this.guests.map((guest) => new Option(guest.name, guest.name)));
    this.describe();
  }

  /** The VM is ready: booting is possible, and a link to a guest (`#guest=hello`) boots it. */
  ready(): void {
    this.elements.boot.disabled = this.guests.length === 0;
    const linked = new URLSearchParams(location.hash.slice(1)).get("guest");
    if (linked !== null && this.guests.some((guest) => guest.name === linked)) {
      this.elements.select.value = linked;
      this.describe();
      void this.bootSample();
    }
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
    const response = await fetch(`guests/${guest.file}`);
    if (!response.ok) return this.onError(`cannot load ${guest.file}: HTTP ${response.status}`);
    this.onBoot(await response.arrayBuffer(), guest.name);
  }

  private async bootFile(file: File): Promise<void> {
    this.onBoot(await file.arrayBuffer(), file.name);
  }
}
