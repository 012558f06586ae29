// Files the page hands to the user: a saved machine, the disk image, a screenshot. The browser
// saves them as downloads, under a name made from the guest's (`shell` → shell.wvs, shell.png).

/** Saves `data` as a download called `name`. */
export function download(data: Blob, name: string): void {
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  // The download has its own reference to the data by now; the URL is not needed after it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** `name` (a guest's, or a file's) with its extension replaced by `extension`. */
export function fileName(name: string, extension: string): string {
  return `${name.replace(/\.[^./]*$/, "") || "wasmvisor"}.${extension}`;
}

/**
 * A file the user chose or dropped, read whole; or a one-line reason why not (larger than
 * `maxBytes`, what the page can hold, or unreadable), without reading more than its size.
 */
export async function readChosenFile(file: File, what: string, maxBytes: number): Promise<ArrayBuffer | string> {
  if (file.size > maxBytes) return `${file.name} is ${fileSize(file.size)}: the page takes ${what} of up to ${fileSize(maxBytes)}`;
  try {
    return await file.arrayBuffer();
  } catch (error) {
    return `cannot read ${file.name}: ${(error as Error).message}`;
  }
}

/** "4 MiB", "1.5 MiB", or "4,096 bytes" below a MiB. */
export function fileSize(bytes: number): string {
  if (bytes < 2 ** 20) return `${bytes.toLocaleString("en")} bytes`;
  return `${(bytes / 2 ** 20).toLocaleString("en", { maximumFractionDigits: 1 })} MiB`;
}
