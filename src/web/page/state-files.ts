// Saving and loading the whole machine from the page, in the CLI's state-file format
// (src/vmm/state-file.ts): "Save state" asks the worker for the machine between two bursts of
// guest code (the guest runs on) and downloads it as NAME.wvs; a .wvs file chosen or dropped is
// sent to the worker, which restores it in place of the current machine, or says in the lab
// tools' message line why it cannot and leaves the current machine running.

import { MAX_MEMORY_MIB } from "../../vmm/memory-size.js";
import type { PageMessage } from "../protocol.js";
import { download, fileName, readChosenFile } from "./download.js";
import { acceptFiles } from "./file-input.js";

/** The largest state file the page reads: a machine of the largest RAM (MAX_MEMORY_MIB) saved with no zero runs, and a MiB for the rest (a disk's contents are not in it). */
const MAX_STATE_BYTES = (MAX_MEMORY_MIB + 1) * 2 ** 20;

export interface StateFileElements {
  save: HTMLButtonElement;
  file: HTMLInputElement;
  dropZone: HTMLElement;
}

export class StateFiles {
  constructor(
    elements: StateFileElements,
    send: (message: PageMessage, transfer?: Transferable[]) => void,
    onError: (message: string) => void,
  ) {
    elements.save.addEventListener("click", () => send({ type: "save-state" }));
    acceptFiles(elements.file, elements.dropZone, async (file) => {
      const bytes = await readChosenFile(file, "state files", MAX_STATE_BYTES);
      if (typeof bytes === "string") return onError(bytes);
      onError("");
      send({ type: "restore-state", bytes, name: file.name }, [bytes]);
    });
  }

  /** The worker's saved machine, downloaded. */
  saved(bytes: ArrayBuffer, name: string): void {
    download(new Blob([bytes], { type: "application/octet-stream" }), fileName(name, "wvs"));
  }
}
