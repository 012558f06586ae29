// The L2 guests guests/nestvisor.elf is checked with, and what Bochs prints for each: the list is
// guests/nestvisor/l2-guests (NAME, then the module as "FILE [ARGS]"), the golden outputs are
// guests/nestvisor-NAME.expected (guests/nestvisor/make-expected.sh). The CLI test
// (test/guests/nestvisor.test.ts) and the page's (test/web/nested-guests.e2e.test.ts) compare
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

/** What Bochs prints for nestvisor with the L2 guest `name`. */
export const golden = (name: string): string => readFileSync(join(root, `guests/nestvisor-${name}.expected`), "utf8");

/** The line nestvisor ends every golden output with: L2 ended and VMX is off. */
export const LAST_LINE = "nestvisor: VMX off, L2's status 0";
