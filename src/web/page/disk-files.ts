// The page's disk image (src/web/vm/page-disk.ts) from the page: which image the machines get,
// an upload that replaces it (the running guest restarts with it) and a download of the image as
// the guest has written it.

import { SECTOR_SIZE } from "../../devices/block-backend.js";
import type { PageMessage } from "../protocol.js";
import { download, fileSize, readChosenFile } from "./download.js";
import { acceptFiles } from "./file-input.js";

/** The image lives in the tab's memory (and a download copies it), so the page takes up to this; the CLI's --disk any size. */
const MAX_DISK_BYTES = 256 * 2 ** 20;

export interface DiskFileElements {
  status: HTMLElement;
  upload: HTMLInputElement;
  download: HTMLButtonElement;
}

export class DiskFiles {
  constructor(
    private readonly elements: DiskFileElements,
    send: (message: PageMessage, transfer?: Transferable[]) => void,
    onError: (message: string) => void,
  ) {
    elements.download.addEventListener("click", () => send({ type: "disk-download" }));
    acceptFiles(elements.upload, undefined, async (file) => {
      if (file.size < SECTOR_SIZE) return onError(`${file.name} is ${file.size} bytes: a disk image holds at least one 512-byte sector`);
      const bytes = await readChosenFile(file, "disk images", MAX_DISK_BYTES);
      if (typeof bytes === "string") return onError(bytes);
      onError("");
      send({ type: "disk-upload", bytes, name: file.name }, [bytes]);
    });
  }

  /** The image the machines get, as the worker reports it. */
  show(name: string, bytes: number, sectors: number): void {
    const partial = bytes % SECTOR_SIZE ? ` (the last ${bytes % SECTOR_SIZE} bytes, less than a sector, are not on the disk)` : "";
    this.elements.status.textContent = `${name}: ${fileSize(bytes)}, ${sectors.toLocaleString("en")} sectors, behind the ATA and paravirtual disks${partial}`;
  }

  /** The image as the guest left it, downloaded. */
  downloaded(bytes: ArrayBuffer, name: string): void {
    download(new Blob([bytes], { type: "application/octet-stream" }), name);
  }
}
