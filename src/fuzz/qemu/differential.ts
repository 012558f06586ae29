// The differential mode (`npm run fuzz -- --differential`): batches of generated user-level
// instruction sequences (user-sequence.ts) become one Multiboot kernel (kernel.ts) that runs
// under wasmvisor (`node dist/cli.js run`) and under QEMU (guests/qemu-run.sh); both print each
// sequence's registers, EFLAGS and scratch memory, and the first sequence whose results differ
// (EFLAGS compared only on the bits the SDM defines at the end of the sequence) is reported with
// the sequence, its inputs and both machines' results. Needs qemu-system-i386, GNU as and ld.
import { execFile, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { packageFileUrl } from "../../package-files.js";
import { Rng, interestingU32 } from "../rng.js";
import { buildKernel, PRINTED_REGS, type SequenceCase } from "./kernel.js";
import { ARITH_FLAGS as ARITH, DF } from "../../x86/eflags.js";
import { SCRATCH_BYTES, undefinedAtEnd, userSequence } from "./user-sequence.js";

export interface DifferentialOptions {
  seconds: number;
  seed: number;
  log: (line: string) => void;
  /** Sequences per kernel (one boot of each machine). */
  batch?: number;
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");

function randomCase(rng: Rng): SequenceCase {
  return {
    regs: PRINTED_REGS.map(() => interestingU32(rng)),
    eflags: 2 | (rng.u32() & ARITH),
    scratch: rng.bytes(SCRATCH_BYTES),
    sequence: userSequence(rng, rng.range(1, 24)),
  };
}

interface MachineRun { stdout: string; how: string }

// Runs a machine; `how` says how it ended (status and the last line on stderr), for reports.
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<MachineRun> {
  return new Promise((resolve) => {
    execFile(command, args, { env, maxBuffer: 64 << 20, timeout: 120_000 }, (error, stdout, stderr) => {
      const last = stderr.trim().split("\n").pop() ?? "";
      resolve({ stdout, how: `exit status ${error?.code ?? 0}${last ? `, stderr: ${last}` : ""}` });
    });
  });
}

/** Each printed line as words, keyed by the sequence number that starts it. */
function parse(output: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const line of output.split("\n")) {
    const words = line.trim().split(/\s+/).map((w) => parseInt(w, 16));
    if (words.length === 1 + 7 + SCRATCH_BYTES / 4 && words.every((w) => Number.isFinite(w))) out.set(words[0], words.slice(1));
  }
  return out;
}

function describe(words: number[] | undefined, machine: MachineRun): string {
  if (!words) return `no result (${machine.how})`;
  const regs = PRINTED_REGS.map((r, i) => `${r}=${hex(words[i])}`).join(" ");
  return `${regs} eflags=${hex(words[6])}\n      scratch ${words.slice(7).map(hex).join(" ")}`;
}

/** The first difference between the two machines' results for `c`, or undefined. */
function compare(c: SequenceCase, ours: number[] | undefined, qemu: number[] | undefined): string | undefined {
  if (!ours || !qemu) return `${ours ? "QEMU" : qemu ? "wasmvisor" : "neither machine"} printed no result`;
  const flagMask = ((ARITH & ~undefinedAtEnd(c.sequence)) | DF | 2) >>> 0;
  for (let i = 0; i < ours.length; i++) {
    const mask = i === 6 ? flagMask : 0xffffffff;
    if (((ours[i] ^ qemu[i]) & mask) !== 0) {
      return i < 6 ? `${PRINTED_REGS[i]} differs` : i === 6 ? `EFLAGS differ in defined bits ${hex(flagMask)}` : `scratch dword ${i - 7} differs`;
    }
  }
  return undefined;
}

function tools(): string | undefined {
  for (const tool of ["qemu-system-i386", "as", "ld"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return tool;
  }
  return undefined;
}

/** Returns the exit status: 0 no divergence, 1 a divergence, 2 a tool is missing. */
export async function runQemuDifferential(o: DifferentialOptions): Promise<number> {
  const missing = tools();
  if (missing) { o.log(`differential: ${missing} not found; it is needed to compare against QEMU`); return 2; }
  const cli = fileURLToPath(packageFileUrl("dist/cli.js"));
  const qemuRun = fileURLToPath(packageFileUrl("guests/qemu-run.sh"));
  const batch = o.batch ?? 100;
  const deadline = performance.now() + o.seconds * 1000;
  let sequences = 0;
  o.log(`differential against QEMU for ${o.seconds} s with seed ${o.seed}, ${batch} sequences per kernel`);
  for (let kernel = 0; kernel === 0 || performance.now() < deadline; kernel++) {
    const rng = new Rng(o.seed, kernel);
    const cases = Array.from({ length: batch }, () => randomCase(rng));
    const elf = buildKernel(cases);
    const [ours, qemu] = await Promise.all([
      run(process.execPath, [cli, "run", elf, "--timeout", "60"]),
      run("sh", [qemuRun, elf], { ...process.env, QEMU_TIMEOUT: "60" }),
    ]);
    rmSync(dirname(elf), { recursive: true, force: true });
    const a = parse(ours.stdout);
    const b = parse(qemu.stdout);
    for (let n = 0; n < cases.length; n++) {
      const why = compare(cases[n], a.get(n), b.get(n));
      if (!why) continue;
      const c = cases[n];
      o.log([
        `DIVERGENCE (seed ${o.seed}, kernel ${kernel}, sequence ${n}): ${why}`,
        `  inputs: ${PRINTED_REGS.map((r, i) => `${r}=${hex(c.regs[i])}`).join(" ")} eflags=${hex(c.eflags)}`,
        `  scratch at %esi: ${Buffer.from(c.scratch).toString("hex")}`,
        "  sequence:", ...c.sequence.map((i) => `    ${i.asm}`),
        `  wasmvisor: ${describe(a.get(n), ours)}`, `  QEMU:      ${describe(b.get(n), qemu)}`,
      ].join("\n"));
      return 1;
    }
    sequences += cases.length;
    o.log(`kernel ${kernel}: ${sequences} sequences agree`);
  }
  console.log(`differential: ${sequences} sequences agree between wasmvisor and QEMU (seed ${o.seed})`);
  return 0;
}
