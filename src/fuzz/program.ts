// Instruction streams for the fuzzer: random instructions (encodings.ts), loops that run often
// enough for the compiling tier to compile their bodies, the instructions that make VM exits,
// chunks of raw random bytes, and mutations of earlier streams (bit flips, inserted and deleted
// instructions, repeated chunks, splices). Streams usually end in HLT.
import { type CodeMode, COMPILABLE, randomInstruction } from "./encodings.js";
import { DATA } from "./machine-tables.js";
import type { Rng } from "./rng.js";

// Instructions that exit or change the execution environment, written out in full.
const SYSTEM = [
  [0x0f, 0xa2], // CPUID
  [0xf4], // HLT
  [0x0f, 0x31], // RDTSC
  [0x0f, 0x01, 0xc1], // VMCALL
  [0x0f, 0x01, 0x38], // INVLPG (%eax)
  [0x0f, 0x22, 0xd8], // MOV %eax, %cr3
  [0x0f, 0x20, 0xd8], // MOV %cr3, %eax
  [0x0f, 0x22, 0xc0], // MOV %eax, %cr0
  [0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0], // CR0.PG on
  [0x0f, 0x22, 0xe0], // MOV %eax, %cr4
  [0x0f, 0x06], // CLTS
  [0x0f, 0x01, 0xf0], // LMSW %ax
  [0xe6, 0x80], // OUT %al, $0x80
  [0xec], // IN (%dx), %al
  [0xf3, 0x6e], // REP OUTSB
  [0xf3, 0x6c], // REP INSB
  [0xfa], [0xfb], [0x9c], [0x9d], [0xcf], // CLI STI PUSHF POPF IRET
  [0xcc], [0xcd, 0x80], [0xce], [0xf1], // INT3, INT 0x80, INTO, INT1
  [0x0f, 0x0b], // UD2
  [0x0f, 0x32], [0x0f, 0x30], // RDMSR WRMSR
  [0x0f, 0x01, 0x0d, 0x00, 0x80, 0x00, 0x00], // SIDT 0x8000
  [0x0f, 0x01, 0x15, 0x00, 0x80, 0x00, 0x00], // LGDT 0x8000
  [0x0f, 0x01, 0x1d, 0x00, 0x80, 0x00, 0x00], // LIDT 0x8000
  [0x8e, 0xd0], // MOV %eax, %ss
  [0xf3, 0xa5], // REP MOVSD
  [0xf3, 0xab], // REP STOSD
  [0xf2, 0xae], // REPNE SCASB
  [0x0f, 0x23, 0xf8], // MOV %eax, %dr7
] as const;

// Instructions that exit from inside a compiled block, where the VMM's handler is called and the
// block may go on (assembly/vm/run.ts deliverExitInBlock).
const BLOCK_EXITS = [
  [0x0f, 0xa2], // CPUID
  [0x0f, 0x01, 0xc1], // VMCALL
  [0xe6, 0x80], // OUT %al, $0x80
  [0xe4, 0x71], // IN $0x71, %al
  [0xec], // IN (%dx), %al
  [0xef], // OUT %eax, (%dx)
] as const;

// A counted loop; its body is often made of what the compiling tier compiles, sometimes with an
// instruction that exits from inside the compiled loop.
function loop(rng: Rng, mode: CodeMode): number[] {
  const body: number[] = [];
  const count = rng.range(2, 6);
  const pool = rng.chance(0.6) ? COMPILABLE : undefined;
  for (let i = 0; i < count; i++) body.push(...randomInstruction(rng, mode, pool));
  if (rng.chance(0.3)) body.push(...rng.pick(BLOCK_EXITS));
  const iterations = rng.range(20, 120);
  const setCount = mode.bits32 ? [0xb9, iterations, 0, 0, 0] : [0xb9, iterations, 0];
  const back = -(body.length + 2);
  if (back < -128) return body;
  return [...setCount, ...body, 0xe2, back & 0xff]; // MOV $n, %ecx; body; LOOP
}

// A counted loop (32-bit code) of loads and stores through one base register, which the compiling
// tier checks once for all of them (src/jit/access-checks.ts): the base steps through the data
// pages (some of which the page tables map elsewhere), and is sometimes written between accesses,
// whole or by one of its bytes, or loaded into, which must end the sharing.
const EAX = 0, ECX = 1, EDX = 2, EBX = 3, EBP = 5, ESI = 6, EDI = 7;
function sharedBaseLoop(rng: Rng): number[] {
  const base = rng.pick([EAX, EDX, EBX, EBP, ESI, EDI]);
  const access = (opcode: number) => [opcode, 0x40 | (rng.pick([EAX, EDX, EBX, EBP, ESI, EDI]) << 3) | base, rng.range(-16, 64) & 0xff];
  const addToBase = (n: number) => [0x81, 0xc0 | base, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  const body: number[] = [];
  for (let n = rng.range(2, 4); n > 0; n--) {
    body.push(...access(rng.pick([0x8b, 0x89, 0x01, 0x88, 0x8a])));
    if (rng.chance(0.2)) body.push(...addToBase(rng.pick([0x1000, -0x1000, 4])));
    if (rng.chance(0.1) && (base === EDX || base === EBX)) body.push(0x80, 0xf0 | (4 + base), 0x10); // XOR $0x10, %dh/%bh
  }
  body.push(...addToBase(rng.pick([4, 8, 12, -8, 0xffc, 0x1004])));
  const start = DATA + rng.below(0x4000);
  return [0xb8 + base, ...u32(start), 0xb8 + ECX, ...u32(rng.range(20, 120)), ...body, 0xe2, -(body.length + 2) & 0xff];
}
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** A fresh random stream of about `length` bytes. */
export function randomProgram(rng: Rng, mode: CodeMode, length: number): Uint8Array {
  // random code rarely survives long enough to reach a loop: often start with one
  const out: number[] = rng.chance(0.3) ? loop(rng, mode) : [];
  while (out.length < length) {
    const item = rng.weighted([
      [70, () => randomInstruction(rng, mode)],
      [10, () => loop(rng, mode)],
      [mode.bits32 ? 3 : 0, () => sharedBaseLoop(rng)],
      [8, () => [...rng.pick(SYSTEM)]],
      [2, () => Array.from(rng.bytes(rng.range(1, 8)))],
    ] as const)();
    out.push(...item);
  }
  if (rng.chance(0.9)) out.push(0xf4);
  return Uint8Array.from(out);
}

/** A mutation of `code`: a few byte-level and instruction-level edits, sometimes a splice with `other`. */
export function mutateProgram(rng: Rng, mode: CodeMode, code: Uint8Array, other: Uint8Array): Uint8Array {
  let bytes = Array.from(code);
  const edits = rng.range(1, 4);
  for (let i = 0; i < edits; i++) {
    const at = rng.below(bytes.length + 1);
    rng.weighted([
      [3, () => { if (at < bytes.length) bytes[at] ^= 1 << rng.below(8); }],
      [3, () => { if (at < bytes.length) bytes[at] = rng.u32() & 0xff; }],
      [3, () => { bytes.splice(at, 0, ...randomInstruction(rng, mode)); }],
      [1, () => { bytes.splice(at, 0, ...rng.pick(SYSTEM)); }],
      [2, () => { bytes.splice(at, rng.range(1, 6)); }],
      [1, () => { const n = rng.range(1, 16); bytes.splice(at, 0, ...bytes.slice(at, at + n)); }],
      [1, () => { bytes = [...bytes.slice(0, at), ...Array.from(other.subarray(rng.below(other.length + 1)))]; }],
    ] as const)();
  }
  return Uint8Array.from(bytes.slice(0, 4096));
}
