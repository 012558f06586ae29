// The CLI as a user meets it, for tests: `node dist/cli.js` in a child process (npm test builds
// dist first), asynchronously so that a test file's many cases can run side by side. Also a
// scratch folder for the files those cases need.

import { spawn } from "node:child_process";
import { mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  /** Everything written to stdout so far. */
  readonly stdout: () => string;
  readonly process: ReturnType<typeof spawn>;
  readonly done: Promise<CliResult>;
}

/** Starts `wasmvisor ...args` with stdin closed. */
export function startWasmvisor(...args: string[]): CliRun {
  return startWasmvisorWithStdout("pipe", ...args);
}

/** The same with stdout on an open file descriptor of the test's (e.g. a FIFO); stdout() is then empty. */
export function startWasmvisorWithStdout(stdoutTo: "pipe" | number, ...args: string[]): CliRun {
  return startWasmvisorWith("ignore", stdoutTo, args);
}

/** `wasmvisor ...args` with `input` as its stdin, from a file as a shell's `< FILE` gives it. */
export function wasmvisorWithInput(input: string, ...args: string[]): Promise<CliResult> {
  const file = join(mkdtempSync(join(tmpdir(), "wasmvisor-stdin-")), "input");
  writeFileSync(file, input, "latin1");
  return startWasmvisorWith(openSync(file, "r"), "pipe", args).done;
}

function startWasmvisorWith(stdin: "ignore" | number, stdoutTo: "pipe" | number, args: string[]): CliRun {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: [stdin, stdoutTo, "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("latin1").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { stdout: () => stdout, process: child, done };
}

export const wasmvisor = (...args: string[]): Promise<CliResult> => startWasmvisor(...args).done;

/** A folder of its own for each test file. */
export function scratchFolder(): { path: (name: string) => string; file: (name: string, bytes: Uint8Array) => string } {
  const folder = mkdtempSync(join(tmpdir(), "wasmvisor-cli-"));
  const path = (name: string) => join(folder, name);
  return {
    path,
    file: (name, bytes) => {
      writeFileSync(path(name), bytes);
      return path(name);
    },
  };
}
