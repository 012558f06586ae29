// The files `wasmvisor run` reads (the kernel, --restore-state, --disk) are looked at before they
// are opened: only a regular file will do. A FIFO would block the open until something writes to
// it, a device such as /dev/zero would be read forever, and a folder opened read-only fails only
// at its first read; each is refused at once in one line instead.

import { statSync, type Stats } from "node:fs";

/** Why a file could not be read, in the words users expect. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES") return "permission denied";
  return (error as Error).message;
}

/** Why `path` cannot be used as an input file, or undefined if it is a regular file. */
export function inputFileProblem(path: string): string | undefined {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    return describeFileError(error);
  }
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return "is a directory";
  if (stats.isFIFO()) return "is a FIFO, not a regular file";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "is a device, not a regular file";
  return "is not a regular file";
}
