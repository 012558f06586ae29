// Bochs, the reference for nested VMX (issue 18): guests/bochs-run.sh boots a Multiboot kernel and
// its modules with GRUB from a CD image under Debian's bochs 2.7 (CPU model
// corei7_sandy_bridge_2600k) and prints what COM1 received. Tests that need it skip with this
// reason where it is not installed (.ci/run installs it).

import { spawnSync } from "node:child_process";
import { root } from "./cli.js";

/** Time for one Bochs run: a boot takes 2-5 s of CPU, more on a loaded machine. */
export const BOCHS_TIMEOUT_MS = 300_000;

export const haveBochs = ["bochs", "grub-mkrescue", "xorriso"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);

/** Appended to a Bochs test's name: why it was skipped, where it was. */
export const bochsSkipNote = haveBochs ? "" : " [skipped: bochs, grub-mkrescue or xorriso is not installed; .ci/run installs them]";

/** COM1's output of `kernel` booted under Bochs with the given modules ("FILE [ARGS]" each). */
export function runUnderBochs(kernel: string, ...modules: string[]): string {
  return runUnderBochsCpu(undefined, kernel, ...modules);
}

/** The same on Bochs' CPU model `cpu` (an AMD one for SVM: ryzen), or bochs-run.sh's default (VMX). */
export function runUnderBochsCpu(cpu: string | undefined, kernel: string, ...modules: string[]): string {
  const env = cpu === undefined ? process.env : { ...process.env, BOCHS_CPU: cpu };
  const result = spawnSync("sh", ["guests/bochs-run.sh", kernel, ...modules], { cwd: root, encoding: "utf8", timeout: BOCHS_TIMEOUT_MS, env });
  return result.stdout;
}
