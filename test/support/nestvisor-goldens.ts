// The L2 guests guests/nestvisor.elf is checked with, and what Bochs prints for each: the list is
// guests/nestvisor/l2-guests (NAME, then the module as "FILE [ARGS]"), the golden outputs are
// guests/nestvisor-NAME.expected for the VMX backend and guests/nestvisor-svm-NAME.expected for
// the SVM one (guests/nestvisor/make-expected.sh). The CLI tests
// (test/guests/nestvisor.test.ts, test/guests/nestvisor-svm.test.ts) and the page's (test/web/nested-guests.e2e.test.ts) compare
// wasmvisor's console with the same files.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./cli.js";

export interface L2Guest {
  name: string;
  /** The module as `--module` takes it: "FILE [ARGS]". */
  module: string;
}

export const l2Guests: L2Guest[] = readFileSync(join(root, "guests/nestvisor/l2-guests"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.startsWith("#"))
  .map((line) => {
    const [name, ...module] = line.trim().split(/\s+/);
    return { name, module: module.join(" ") };
  });

/** nestvisor's two backends: VMX on an Intel CPU, SVM on an AMD one. */
export type Backend = "vmx" | "svm";

/** What Bochs prints for nestvisor with the L2 guest `name`: guests/nestvisor-NAME.expected for
 * the VMX backend, guests/nestvisor-svm-NAME.expected for SVM's (make-expected.sh [vmx|svm]). */
export const golden = (name: string, backend: Backend = "vmx"): string =>
  readFileSync(join(root, `guests/nestvisor-${backend === "svm" ? "svm-" : ""}${name}.expected`), "utf8");

/** The line nestvisor ends every golden output of the list with: L2 ended and VMX (or SVM) is off. */
export const lastLine = (backend: Backend): string => `nestvisor: ${backend.toUpperCase()} off, L2's status 0`;
export const LAST_LINE = lastLine("vmx");
