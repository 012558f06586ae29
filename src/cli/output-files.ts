// Files `wasmvisor run` writes (--save-state, --stats-json, --screenshot): checked before the guest
// starts, so that a long run is not lost to a typo in a path, and written atomically: into a
// temporary file beside the target, flushed to disk, then renamed over it, so a reader (or a later
// --restore-state) sees the old file or the whole new one, never half of one. The state file given
// to --restore-state is never the one written: --save-state must name another.

import { accessSync, closeSync, constants, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UsageError } from "./exit-status.js";
import { describeFileError } from "./input-files.js";

/** Refuses an output path that cannot be written: its folder missing or read-only, or a folder itself. */
export function checkOutputFile(path: string, option: string): void {
  const folder = dirname(resolve(path));
  try {
    if (!statSync(folder).isDirectory()) throw new UsageError(`${option} ${path}: ${folder} is not a folder`);
    accessSync(folder, constants.W_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${option} ${path}: cannot write in ${folder}: ${describeFileError(error)}`);
  }
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${option} ${path}: is a directory`);
}

/** --save-state may not name the --restore-state file: the machine it came from stays as it was. */
export function checkStatePaths(saveState: string | undefined, restoreState: string | undefined): void {
  if (saveState === undefined || restoreState === undefined) return;
  if (samePath(saveState, restoreState)) {
    throw new UsageError(`--save-state ${saveState} is the --restore-state file: save to another file, the input is never overwritten`);
  }
}

function samePath(a: string, b: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return join(realpathSync(dirname(resolve(path))), basename(path));
    }
  };
  try {
    return real(a) === real(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename; a failure is a UsageError. */
export function writeFileAtomically(path: string, bytes: Uint8Array, what: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "wx");
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // it was never made, or is gone already
    }
    throw new UsageError(`cannot write ${what} ${path}: ${describeFileError(error)}`);
  }
}
