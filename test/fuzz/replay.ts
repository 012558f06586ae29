// Replays fuzz cases through the built fuzzer (`node dist/fuzz.js --replay`, built by `npm test`'s
// pretest), in a child process: its worker threads run each case under a watchdog, so a case that
// hangs the core fails the test instead of hanging vitest. Also builds small hand-written cases:
// code assembled with GNU as, run on a flat ring-0 machine.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as L from "../../assembly/vmcs-layout";
import { saveCase } from "../../src/fuzz/corpus";
import type { Entry, FuzzCase } from "../../src/fuzz/fuzz-case";
import { assemble, CODE_BASE, STACK_TOP } from "../core/harness";

const FUZZ = fileURLToPath(new URL("../../dist/fuzz.js", import.meta.url));

export interface ReplayResult { ok: boolean; output: string }

/** Replays the saved case `jsonPath` (compiling tier off and on); `timeoutSeconds`: the watchdog. */
export function replayFile(jsonPath: string, timeoutSeconds = 5): ReplayResult {
  const r = spawnSync(process.execPath, [FUZZ, "--replay", jsonPath, "--timeout", String(timeoutSeconds)], { encoding: "utf8", timeout: 120_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

export function replayCase(c: FuzzCase, timeoutSeconds = 5): ReplayResult {
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-replay-"));
  try {
    return replayFile(saveCase(dir, c, "hand-written case", "test"), timeoutSeconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A flat ring-0 machine (as the core harness sets up) running `source` at CODE_BASE. */
export function flatCase(source: string, regs: Partial<Record<number, number>> = {}, entries: Entry[] = [{ budget: 100_000 }]): FuzzCase {
  const vmcs: [number, number][] = [
    [L.G_SEG + L.SR_CS * 16 + L.SEG_SEL, 0x08], [L.G_SEG + L.SR_CS * 16 + L.SEG_LIMIT, 0xffffffff], [L.G_SEG + L.SR_CS * 16 + L.SEG_AR, 0xc09b],
  ];
  for (const s of [L.SR_ES, L.SR_SS, L.SR_DS, L.SR_FS, L.SR_GS]) {
    vmcs.push([L.G_SEG + s * 16 + L.SEG_SEL, 0x10], [L.G_SEG + s * 16 + L.SEG_LIMIT, 0xffffffff], [L.G_SEG + s * 16 + L.SEG_AR, 0xc093]);
  }
  vmcs.push([L.G_SEG + L.SR_LDTR * 16 + L.SEG_AR, L.AR_UNUSABLE], [L.G_CR0, 0x11], [L.G_EFLAGS, 2], [L.G_EIP, CODE_BASE],
    [L.G_REGS + 4 * 4, STACK_TOP], [L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_UNCONDITIONAL_IO]);
  for (const [r, v] of Object.entries(regs)) vmcs.push([L.G_REGS + Number(r) * 4, v!]);
  return { setup: { ram: 1 << 20, vmcs, ioBitmap: [], memory: [], runs: [], codeAt: CODE_BASE, entries }, code: assemble(source) };
}
