// Test harness for the guest CPU alone: instantiates build/core.wasm, assembles snippets with GNU
// as (AT&T syntax, 32-bit), places them in guest RAM with flat ring-0 segments and runs them until
// they exit. No VMM is involved, so each test sees exactly what the core does.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as L from "../../assembly/vmcs-layout";
import { BlockCompiler } from "../../src/jit/block-compiler";
import { checkCoreExports, type CoreExports } from "../../src/core/core-exports";
import { Vmcs } from "../../src/core/vmcs";
import { bareCoreImports, type ExitHandler } from "../../src/core/core";

const wasmPath = new URL("../../build/core.wasm", import.meta.url);
let module: WebAssembly.Module | undefined;

export const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
export type RegName = (typeof REG_NAMES)[number];

export const CODE_BASE = 0x10000;
export const STACK_TOP = 0x90000;
export const GDT_BASE = 0x800;

// Access-rights values in VMCS format for flat segments.
export const AR_CODE0 = 0xc09b;
export const AR_DATA0 = 0xc093;
export const AR_CODE3 = 0xc0fb;
export const AR_DATA3 = 0xc0f3;


// Assemble AT&T-syntax 32-bit code (origin CODE_BASE unless given) into flat bytes.
const asmCache = new Map<string, Uint8Array>();
export function assemble(source: string, origin = CODE_BASE): Uint8Array {
  const key = `${origin}:${source}`;
  const cached = asmCache.get(key);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-asm-"));
  try {
    writeFileSync(join(dir, "t.s"), `.code32\n.text\n.globl _start\n_start:\n${source}\n`);
    execFileSync("as", ["--32", "-o", join(dir, "t.o"), join(dir, "t.s")], { stdio: "pipe" });
    execFileSync("ld", ["-m", "elf_i386", "-Ttext", `0x${origin.toString(16)}`, "--oformat", "binary",
      "-o", join(dir, "t.bin"), join(dir, "t.o")], { stdio: "pipe" });
    const bytes = new Uint8Array(readFileSync(join(dir, "t.bin")));
    asmCache.set(key, bytes);
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class TestCpu {
  readonly core: CoreExports;
  readonly compiler: BlockCompiler | undefined;
  // `jit`: let the core compile hot blocks (off by default so each test sees the interpreter).
  // `exitHandler`: called by the core at each exit, as the VMM's is; by default run() returns.
  constructor(ramBytes = 1 << 20, options: { jit?: boolean; exitHandler?: ExitHandler } = {}) {
    module ??= new WebAssembly.Module(readFileSync(wasmPath));
    let compiler: BlockCompiler | undefined;
    const compile = (eip: number, phys: number, entry: number) => compiler?.compile(eip, phys, entry) ?? 0;
    this.core = checkCoreExports(new WebAssembly.Instance(module, bareCoreImports(compile, options.exitHandler)).exports);
    this.core.init(ramBytes);
    if (options.jit) compiler = new BlockCompiler(this.core);
    this.compiler = compiler;
    this.resetFlat();
    this.setVmcs(L.C_JIT, options.jit ? 1 : 0);
  }

  // Views are made on demand: memory growth detaches old ones.
  get u32(): Uint32Array { return new Uint32Array(this.core.memory.buffer); }
  get ram(): Uint8Array { return new Uint8Array(this.core.memory.buffer, this.core.ramBase(), this.core.ramSize()); }
  vmcs(offset: number): number { return this.u32[(L.VMCS_BASE + offset) >>> 2]; }
  // Through the VMM's accessor, so the write clears its clean-fields bit as the VMM's writes do.
  setVmcs(offset: number, value: number): void { new Vmcs(new Int32Array(this.core.memory.buffer, L.VMCS_BASE, L.VMCS_SIZE >> 2)).set(offset, value); }

  reg(name: RegName): number { return this.vmcs(L.G_REGS + REG_NAMES.indexOf(name) * 4); }
  setReg(name: RegName, value: number): void { this.setVmcs(L.G_REGS + REG_NAMES.indexOf(name) * 4, value); }
  get eip(): number { return this.vmcs(L.G_EIP); }
  set eip(v: number) { this.setVmcs(L.G_EIP, v); }
  get eflags(): number { return this.vmcs(L.G_EFLAGS); }
  set eflags(v: number) { this.setVmcs(L.G_EFLAGS, v); }

  setSegment(sreg: number, selector: number, base: number, limit: number, ar: number): void {
    const at = L.G_SEG + sreg * L.SEG_STRIDE;
    this.setVmcs(at + L.SEG_SEL, selector);
    this.setVmcs(at + L.SEG_BASE, base);
    this.setVmcs(at + L.SEG_LIMIT, limit);
    this.setVmcs(at + L.SEG_AR, ar);
  }
  segment(sreg: number): { selector: number; base: number; limit: number; ar: number } {
    const at = L.G_SEG + sreg * L.SEG_STRIDE;
    return { selector: this.vmcs(at + L.SEG_SEL), base: this.vmcs(at + L.SEG_BASE),
      limit: this.vmcs(at + L.SEG_LIMIT), ar: this.vmcs(at + L.SEG_AR) };
  }

  // Flat ring-0 protected mode with a GDT holding: 0x08 code0, 0x10 data0, 0x1B code3, 0x23 data3.
  resetFlat(): void {
    this.setSegment(L.SR_CS, 0x08, 0, 0xffffffff, AR_CODE0);
    for (const s of [L.SR_DS, L.SR_ES, L.SR_SS, L.SR_FS, L.SR_GS]) this.setSegment(s, 0x10, 0, 0xffffffff, AR_DATA0);
    this.setSegment(L.SR_LDTR, 0, 0, 0, L.AR_UNUSABLE);
    this.setSegment(L.SR_TR, 0, 0, 0xffff, 0x8b);
    this.writeGdt(GDT_BASE, [
      [0, 0],
      descriptor(0, 0xfffff, 0x9a, 0xc), descriptor(0, 0xfffff, 0x92, 0xc),
      descriptor(0, 0xfffff, 0xfa, 0xc), descriptor(0, 0xfffff, 0xf2, 0xc),
    ]);
    this.setVmcs(L.G_CR0, 0x11);
    this.eflags = 0x2;
    this.setReg("esp", STACK_TOP);
    this.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_UNCONDITIONAL_IO);
  }

  writeGdt(base: number, entries: [number, number][]): void {
    entries.forEach(([lo, hi], i) => { this.write32(base + i * 8, lo); this.write32(base + i * 8 + 4, hi); });
    this.setVmcs(L.G_GDTR_BASE, base);
    this.setVmcs(L.G_GDTR_LIMIT, entries.length * 8 - 1);
  }

  // As a VMM must, these report what they write, so that compiled code there is forgotten.
  write32(addr: number, v: number): void {
    new DataView(this.core.memory.buffer).setUint32(this.core.ramBase() + addr, v >>> 0, true);
    this.core.noteHostWrite(addr, 4);
  }
  read32(addr: number): number { return new DataView(this.core.memory.buffer).getUint32(this.core.ramBase() + addr, true); }
  write8(addr: number, v: number): void { this.ram[addr] = v; this.core.noteHostWrite(addr, 1); }
  read8(addr: number): number { return this.ram[addr]; }
  load(addr: number, bytes: Uint8Array): void { this.ram.set(bytes, addr); }

  // One VM entry with an instruction budget; returns the exit reason.
  run(budget = 1_000_000): number {
    this.setVmcs(L.C_PREEMPTION_TIMER, budget);
    return this.core.run();
  }

  // Assemble `source`, run it from CODE_BASE until it exits (normally at a final HLT) and
  // return the exit reason. The HLT exit leaves EIP at the HLT.
  exec(source: string, budget = 1_000_000): number {
    this.load(CODE_BASE, assemble(source));
    this.eip = CODE_BASE;
    return this.run(budget);
  }

  get exitReason(): number { return this.vmcs(L.X_REASON); }
  get qualification(): number { return this.vmcs(L.X_QUALIFICATION); }
}

// An 8-byte segment descriptor as two dwords: base, limit (20 bits), access byte, flags nibble.
export function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

// An 8-byte gate descriptor (interrupt/trap/call gate).
export function gate(selector: number, offset: number, type: number, dpl: number, params = 0): [number, number] {
  const lo = ((selector & 0xffff) << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff0000) | 0x8000 | ((dpl & 3) << 13) | ((type & 0xf) << 8) | (params & 0x1f);
  return [lo >>> 0, hi >>> 0];
}

export const FLAG = { CF: 1, PF: 4, AF: 0x10, ZF: 0x40, SF: 0x80, TF: 0x100, IF: 0x200, DF: 0x400, OF: 0x800 } as const;
