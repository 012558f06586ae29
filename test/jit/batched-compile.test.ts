// Batched compilation (src/jit/block-compiler.ts): blocks are compiled many to a module, later
// than their request, while the interpreter runs them; whenever the install comes, the guest ends
// in the interpreter's state, and a block rewritten, forgotten or evicted while its batch compiled
// is never installed. The background mode runs here on a module compiler whose batches finish at
// polls the test chooses (heldFor), so every run is the same; the deterministic mode's delay is in
// retired instructions.
import { describe, it, expect } from "vitest";
import { TestCpu } from "../core/harness";
import {
  BATCH_FUNCTIONS, MAX_BLOCKS, MAX_HELD_FUNCTIONS, MAX_BATCHES_IN_FLIGHT, compileTimes, type CompileMode, type CompilerStats,
} from "../../src/jit/block-compiler";
import type { CompiledModule, ModuleCompiler } from "../../src/jit/module-compiler";

const DATA = 0x20000;

/** A module compiler whose batches come out of take() at its `polls`-th call after submit(). */
function heldFor(polls: number): ModuleCompiler & { submitted: number } {
  let waiting: { due: number; done: CompiledModule }[] = [];
  let takes = 0;
  return {
    submitted: 0,
    submit(id, bytes) {
      this.submitted++;
      waiting.push({ due: takes + polls, done: { id, module: new WebAssembly.Module(bytes), compileMs: 0 } });
    },
    take() {
      takes++;
      const done = waiting.filter((w) => w.due <= takes).map((w) => w.done);
      waiting = waiting.filter((w) => w.due > takes);
      return done;
    },
    close() { waiting = []; },
  };
}

function run(source: string, options: { jit: boolean; compiling?: CompileMode; budget?: number; heldLimit?: number }) {
  const cpu = new TestCpu(4 << 20, options);
  if (options.heldLimit !== undefined) cpu.compiler!.heldLimit = options.heldLimit;
  const reason = cpu.exec(source, options.budget ?? 5_000_000);
  return {
    reason,
    regs: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"].map((r) => cpu.reg(r as "eax")),
    eip: cpu.eip, eflags: cpu.eflags, retired: cpu.core.instructionsRetired(),
    data: Array.from(cpu.ram.subarray(DATA, DATA + 64)),
    stats: { ...cpu.compiler?.stats } as CompilerStats,
    held: cpu.compiler?.heldFunctionCount ?? 0,
    filled: cpu.compiler?.filledSlots ?? 0,
  };
}

function expectAsInterpreter(source: string, compiling: CompileMode, budget?: number, heldLimit?: number): CompilerStats & { held: number; filled: number } {
  const { stats: _, held: __, filled: ___, ...interpreted } = run(source, { jit: false, budget });
  const { stats, held, filled, ...compiled } = run(source, { jit: true, compiling, budget, heldLimit });
  expect(interpreted.reason).toBe(12); // HLT: the program ran to its end
  expect(compiled).toEqual(interpreted);
  expect(stats.installed).toBeGreaterThan(0);
  return { ...stats, held, filled };
}

// A loop calling several small functions: a dozen blocks hot at about the same time, and run
// long enough (300,000 instructions) for the background mode's polls (every POLL_INSTRUCTIONS).
const MANY_BLOCKS = `mov $20000, %ecx
1: call 2f
call 3f
call 4f
call 5f
dec %ecx
jnz 1b
hlt
2: add %ecx, %eax
ret
3: xor %eax, %ebx
ret
4: lea 3(%ebx,%ecx), %edx
add %edx, %esi
ret
5: mov %esi, ${DATA}
addl %eax, ${DATA + 4}
ret`;

// f returns 1 in EAX for 100 calls, is patched to return 2, then is called 20,000 times more.
const PATCHED = `mov $100, %edi
1: call 9f
add %eax, %ebx
dec %edi
jnz 1b
movb $2, 9f + 1
mov $20000, %edi
2: call 9f
add %eax, %ebx
dec %edi
jnz 2b
hlt
9: mov $1, %eax
ret`;

describe("batched compilation: the interpreter's result, whenever blocks are installed", () => {
  it.each([
    ["deterministic, each block at its request", { kind: "deterministic", delay: 0 }],
    ["deterministic, installed 300 instructions after the first request", { kind: "deterministic", delay: 300 }],
    ["deterministic, installed 5,000 instructions later", { kind: "deterministic", delay: 5000 }],
  ] as [string, CompileMode][])("%s", (_, mode) => {
    const stats = expectAsInterpreter(MANY_BLOCKS, mode);
    if (mode.kind === "deterministic" && mode.delay > 0) expect(stats.modules).toBeLessThan(stats.installed); // many functions per module
  });

  it.each([1, 2, 7])("background, each batch back at the %i-th poll after it was sent", (polls) => {
    const compiler = heldFor(polls);
    const stats = expectAsInterpreter(MANY_BLOCKS, { kind: "background", compiler });
    expect(compiler.submitted).toBe(stats.modules);
    expect(stats.modules).toBeLessThan(stats.installed);
  });

  it("a batch that never comes back: the guest runs on, interpreted, and nothing is installed", () => {
    const interpreted = run(MANY_BLOCKS, { jit: false });
    const waiting = run(MANY_BLOCKS, { jit: true, compiling: { kind: "background", compiler: heldFor(Infinity) } });
    expect(waiting.regs).toEqual(interpreted.regs);
    expect(waiting.retired).toBe(interpreted.retired);
    expect(waiting.stats.installed).toBe(0);
    expect(waiting.stats.requests).toBeGreaterThan(0);
  });
});

describe("a block rewritten while its batch compiles is not installed", () => {
  // The patch lands while the first loop's blocks are queued; the batch is compiled and installed
  // in the second loop, at an arrival at one of the others. Installing f as first compiled would
  // return 1 instead of 2 for the rest of the run.
  it.each([
    ["deterministic", { kind: "deterministic", delay: 500 }],
    ["background", { kind: "background", compiler: heldFor(3) }],
  ] as [string, CompileMode][])("%s", (_, mode) => {
    const stats = expectAsInterpreter(PATCHED, mode);
    expect(run(PATCHED, { jit: false }).regs[3]).toBe(100 + 2 * 20000); // EBX
    expect(stats.stale).toBeGreaterThan(0);
  });
});

describe("bounds", () => {
  it("requests beyond a full queue, with the batches in flight at their limit, are refused and asked again later", () => {
    const compiler = heldFor(Infinity);
    // 200 distinct blocks (a call to each of 200 functions, 40 times over)
    const functions = Array.from({ length: 200 }, (_, i) => `f${i}: add $${i}, %eax\nret`).join("\n");
    const calls = Array.from({ length: 200 }, (_, i) => `call f${i}`).join("\n");
    const result = run(`mov $40, %ecx\n1: ${calls}\ndec %ecx\njnz 1b\nhlt\n${functions}`, { jit: true, compiling: { kind: "background", compiler } });
    expect(compiler.submitted).toBe(MAX_BATCHES_IN_FLIGHT);
    // the first block alone (the compiler was idle), full batches behind it, and a full queue
    expect(result.stats.requests).toBe(1 + MAX_BATCHES_IN_FLIGHT * BATCH_FUNCTIONS);
    expect(result.stats.refused).toBeGreaterThan(0);
    expect(result.regs[0]).toBe(((40 * 199 * 200) / 2) >>> 0); // EAX: all ran, interpreted
  });

  it("modules most of whose functions were replaced are let go, and the blocks they held run on as the interpreter's", () => {
    // 1,500 functions, each called 40 times a round; between rounds all but every 8th (another
    // eighth each round) are rewritten and compiled anew, in new modules, which keep an eighth of
    // their functions in the table a round later: some 3,000 functions held, against a limit set
    // to 512 here (MAX_HELD_FUNCTIONS is 16,384).
    const COUNT = 1500, LIMIT = 512;
    const functions = Array.from({ length: COUNT }, (_, i) => `.align 16\nf${i}: add $${i & 63}, %eax\nret`).join("\n");
    const source = `mov $12, %edx
0: mov $40, %ecx
1: mov $f0, %ebx
mov $${COUNT}, %edi
2: call *%ebx
add $16, %ebx
dec %edi
jnz 2b
dec %ecx
jnz 1b
mov $f0 + 2, %ebx
xor %edi, %edi
3: lea (%edi,%edx), %ebp
test $7, %ebp
jz 4f
incb (%ebx)
4: add $16, %ebx
inc %edi
cmp $${COUNT}, %edi
jne 3b
dec %edx
jnz 0b
hlt
${functions}`;
    const stats = expectAsInterpreter(source, { kind: "deterministic", delay: 5000 }, 100_000_000, LIMIT);
    expect(stats.installed).toBeGreaterThan(4 * COUNT);
    expect(stats.released).toBeGreaterThan(0);
    expect(stats.held).toBeLessThanOrEqual(Math.max(LIMIT, 4 * stats.filled) + BATCH_FUNCTIONS);
    expect(stats.held).toBeLessThan(2 * COUNT); // modules of a round ago, an eighth full, let go
  });

  it("MAX_HELD_FUNCTIONS keeps a quarter or more of the table's slots' worth per module", () => {
    expect(MAX_HELD_FUNCTIONS).toBe(4 * MAX_BLOCKS);
  });
});

describe("compile time per block", () => {
  it("adds up the compiler's own time on the guest's thread, as the clock it was given reads it", () => {
    // A clock that moves 1 ms at each reading: each timed stretch (a request, a poll) reads it twice.
    let now = 0;
    const clock = () => ++now;
    const stats = run(MANY_BLOCKS, { jit: true, compiling: { kind: "deterministic", delay: 300, threadCpuClock: clock } }).stats;
    expect(stats.guestThreadClock).toBe("cpu");
    expect(stats.guestThreadMs).toBe(now / 2); // one ms per stretch: its two readings
    expect(now / 2).toBeGreaterThanOrEqual(stats.requests + stats.modules); // every request and every batch compiled was timed
    expect(compileTimes(stats).guestThreadUs).toBe((stats.guestThreadMs * 1000) / stats.requests);
  });

  it("per-block averages", () => {
    const s: CompilerStats = {
      requests: 10, installed: 8, stale: 1, refused: 0, modules: 2, functions: 9, released: 0,
      guestThreadMs: 0.5, guestThreadClock: "cpu", backgroundMs: 0.9, waitMs: 16,
    };
    expect(compileTimes(s)).toEqual({ guestThreadUs: 50, backgroundUs: 100, waitMs: 2, functionsPerModule: 4.5 });
  });
});
