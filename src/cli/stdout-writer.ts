// Stdout for the guest's console, written without ever waiting for the reader: a blocking write to
// a pipe nobody reads, or to a terminal stopped with Ctrl-S, would stop the run loop, and with it
// --timeout and the signals. A pipe or a terminal is reopened through /proc/self/fd/1 with
// O_NONBLOCK: a new open file description, so the one the shell and our siblings share keeps its
// blocking mode (terminal-input.ts does the same for stdin). A socket cannot be reopened that way
// (Node's child processes get socket pairs); Node's own stdout stream makes it non-blocking, as it
// does for every program that touches process.stdout. Files and other devices never wait for a
// reader and are written as they are.

import { constants, fstatSync, openSync, writeSync } from "node:fs";
import { isatty } from "node:tty";
import type { ChunkWriter } from "./console-output.js";

const STDOUT = 1;

export function nonBlockingStdout(): ChunkWriter {
  const fd = nonBlockingFd();
  return (chunk) => writeSync(fd, chunk);
}

function nonBlockingFd(): number {
  let stat;
  try {
    stat = fstatSync(STDOUT);
  } catch {
    return STDOUT; // closed: writes fail as they would have
  }
  if (stat.isFIFO() || isatty(STDOUT)) {
    try {
      return openSync("/proc/self/fd/1", constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      // No /proc, or a pipe whose reader has gone (ENXIO): fd 1 itself, where that shows as EPIPE.
    }
  }
  if (stat.isSocket() || stat.isFIFO()) void process.stdout; // Node sets O_NONBLOCK on it
  return STDOUT;
}
