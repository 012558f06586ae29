// x86 -> WASM translation of one basic block for the compiling tier. It handles the integer
// instructions compiled C code spends its time in (MOV/LEA/ALU including ADC/SBB, TEST/CMP/INC/
// DEC/NEG/NOT, shifts by constants, IMUL, MUL/DIV, MOVZX/MOVSX, PUSH/POP, SETcc/CMOVcc, CDQ) with
// 32-bit operands (and 8-bit MOV/ALU/TEST), a kernel's MOV to CR3, and CPUID, VMCALL,
// IN and OUT, which the core performs in place and whose exits it delivers inside the block,
// and ends the block at a branch (Jcc, LOOP, JECXZ, JMP, CALL, RET). Other forms the core's
// interpreter executes in place (interpret), and the block goes on after them; the few that must
// end it (interpretable) end it before them, and the interpreter executes them. Registers
// stay in the VMCS (memory) so the state is exact at every instruction boundary; every memory
// access is checked against plain RAM (and the TLB, with paging) and leaves the block at that
// instruction when it falls outside (the interpreter then performs it, with all of its checks);
// accesses through the same registers share one check (access-checks.ts).
import { EXIT_CPUID, EXIT_VMCALL } from "../../assembly/vmcs-layout.js";
import {
  IO_INFO_INPUT, IO_INFO_SIZE_SHIFT, IO_INFO_IMMEDIATE, IO_INFO_LENGTH_SHIFT, TLB_ENTRIES, TLB_ENTRIES_OFFSET,
  S_SUPER_WRITE, S_USER_READ, S_USER_WRITE, T_PLAIN_RAM, CR3_SWITCHED_SAME_PAGE, HOLE_START, HOLE_END, MAX_BLOCK_BYTES,
} from "../../assembly/jit-abi.js";
import { Code, Op } from "./wasm-module.js";
import { disassemble } from "../x86/disassembly.js";
import { ONE_BYTE, REL } from "../../assembly/opcode-map.js";
import { type AccessCheck, type AccessEvent, type AddressForm, planAccessChecks } from "./access-checks.js";
import {
  type FlagState, type CoreLinks, LazyOp, lazy, lazyWithCarryIn, emitCondition, emitMaterialize, emitEagerFlags, emitCarry,
  emitArithFlags, CF, OF,
} from "./flags.js";

export interface TranslateEnv {
  code: Uint8Array; // guest RAM
  eip: number; // linear address of the block
  physical: number; // guest-physical address of its first byte (the block stays in that page)
  paging: boolean; // compiled for paging on: memory goes through the core's TLB
  cpl: number; // the privilege level it was compiled for (TLB permission checks, MOV to CR3)
  ramBase: number; // offset of guest-physical 0 in WASM memory
  ramSize: number;
  regs: number; // offset of EAX in WASM memory (the VMCS guest registers)
  entry: number; // its block-cache entry (an exit delivered inside the block checks it is still valid)
  links: CoreLinks & {
    eip: number; budget: number; tlbBank: number; rangeExit: number; jitLoadCr3: number; jitPortIo: number; jitExit: number;
    jitInterpret: number;
  };
}

export interface Translation { body: Code; instructions: number; length: number; loops: boolean }

const MAX_INSTRUCTIONS = 32;
const EAX = 0, ECX = 1, EDX = 2, ESP = 4;
const HOLE_SIZE = HOLE_END - HOLE_START; // guest-physical range that is not plain RAM (VGA, ROM)

type Register = { reg: number; bytes: number };
type Memory = { mem: true; base: number; index: number; scale: number; disp: number; bytes: number };
type Operand = Register | Memory;

const ALU_OPS: Record<number, { op: LazyOp; wasm: Op | undefined; writes: boolean; carryIn?: boolean }> = {
  0: { op: LazyOp.Add, wasm: Op.I32Add, writes: true },
  1: { op: LazyOp.Logic, wasm: Op.I32Or, writes: true },
  2: { op: LazyOp.Add, wasm: Op.I32Add, writes: true, carryIn: true }, // ADC
  3: { op: LazyOp.Sub, wasm: Op.I32Sub, writes: true, carryIn: true }, // SBB
  4: { op: LazyOp.Logic, wasm: Op.I32And, writes: true },
  5: { op: LazyOp.Sub, wasm: Op.I32Sub, writes: true },
  6: { op: LazyOp.Logic, wasm: Op.I32Xor, writes: true },
  7: { op: LazyOp.Sub, wasm: Op.I32Sub, writes: false },
};

class Unsupported extends Error {}

class Translator {
  readonly c = new Code();
  flags: FlagState = { kind: "unknown" };
  private pos: number; // linear address of the next byte
  private ip = 0; // address of the instruction being translated
  private index = 0; // its number within the block
  private readonly count: number;

  // Memory the current instruction stored to (guest-physical address locals).
  private stores: { at: number; bytes: number }[] = [];

  // Its accesses and register writes, for planAccessChecks (scan() collects them); the plan the
  // block is compiled with, and with paging each leader's physical - linear (a local; with paging
  // off, physical is linear).
  readonly events: AccessEvent[] = [];
  private accesses = 0;
  private readonly leaderDelta = new Map<number, number>();

  // With paging: a local holding the TLB bank, read once per block (only a MOV to CR3 changes it,
  // and that ends the block).
  private readonly tlbBank: number;

  // What scan() learns from its probes: a MOV to CR3 in the block (the TLB bank may change), a
  // call into the core that may change the TLB (callsCore), and the target of the Jcc that ends it.
  switchesSpace = false;
  callsCore = false;
  jccTarget: number | undefined;

  /**
   * `loops`: the block ends with a Jcc back to its own start, and goes round inside (loopBack).
   * `pageCache`: each paged access remembers the page it translated last (physical()); only
   * where nothing can change a TLB entry while the block runs, i.e. in blocks that never call
   * the core (its misses leave the block, and only the core drops or write-protects entries).
   */
  constructor(
    private readonly env: TranslateEnv, count: number, private readonly loops = false, private readonly pageCache = false,
    private readonly checks: AccessCheck[] = [],
  ) {
    this.pos = env.eip;
    this.count = count;
    this.tlbBank = this.c.local();
    if (env.paging) this.c.globalGet(env.links.tlbBank).set(this.tlbBank);
    if (loops) this.c.loop();
  }

  // ---- byte stream -------------------------------------------------------------------------
  private u8(): number {
    // a block stays within its first page: its bytes are contiguous there whatever the paging
    const offset = this.pos - this.env.eip;
    const at = this.env.physical + offset;
    if (offset >= MAX_BLOCK_BYTES || (this.env.physical & 0xfff) + offset >= 0x1000 || at >= this.env.code.length) {
      throw new Unsupported();
    }
    this.pos++;
    return this.env.code[at];
  }
  private s8(): number { return (this.u8() << 24) >> 24; }
  private u32(): number { return (this.u8() | (this.u8() << 8) | (this.u8() << 16) | (this.u8() << 24)) >>> 0; }

  private modrm(bytes: number): { reg: number; rm: Operand } {
    const m = this.u8();
    const mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
    if (mod === 3) return { reg, rm: { reg: rm, bytes } };
    let base = -1, index = -1, scale = 0, disp = 0;
    if (rm === 4) {
      const sib = this.u8();
      scale = sib >> 6;
      index = ((sib >> 3) & 7) === 4 ? -1 : (sib >> 3) & 7;
      base = sib & 7;
      if (base === 5 && mod === 0) { base = -1; disp = this.u32(); }
    } else if (rm === 5 && mod === 0) {
      disp = this.u32();
    } else {
      base = rm;
    }
    if (mod === 1) disp = this.s8();
    else if (mod === 2) disp = this.u32();
    return { reg, rm: { mem: true, base, index, scale, disp, bytes } };
  }

  // ---- registers and memory ------------------------------------------------------------------
  private regOffset(r: number, bytes: number): number {
    return this.env.regs + (bytes === 1 ? (r & 3) * 4 + (r >> 2) : r * 4);
  }
  private loadReg(r: number, bytes: number): void {
    this.c.i32(0).mem(bytes === 1 ? Op.I32Load8U : Op.I32Load, this.regOffset(r, bytes));
  }
  private storeReg(r: number, bytes: number, value: number): void {
    this.events.push({ kind: "register", reg: bytes === 1 ? r & 3 : r });
    this.c.i32(0).get(value).mem(bytes === 1 ? Op.I32Store8 : Op.I32Store, this.regOffset(r, bytes));
  }

  private address(m: Memory): number {
    const c = this.c;
    c.i32(m.disp | 0);
    if (m.base >= 0) { this.loadReg(m.base, 4); c.op(Op.I32Add); }
    if (m.index >= 0) { this.loadReg(m.index, 4); c.i32(m.scale).op(Op.I32Shl).op(Op.I32Add); }
    const a = c.local();
    c.set(a);
    return a;
  }

  // The guest-physical address for an access at linear `a` (a local) of the form `form`, or leave
  // the block before this instruction: when paging is on and the TLB has no entry allowing the
  // access (the interpreter then walks and fills it) or the access would cross a page, or when it
  // is not plain RAM (with paging, a bit of the TLB entry says so). A follower (access-checks.ts)
  // relies on its leader's check, which covered it.
  private physical(a: number, bytes: number, write: boolean, form?: AddressForm): number {
    const c = this.c, env = this.env, access = this.accesses++;
    this.events.push({ kind: "access", address: form, bytes, write });
    const check = this.checks[access] ?? { leader: true, from: 0, span: bytes, write, followed: false };
    if (!check.leader) {
      if (!env.paging) return a;
      const p = c.local();
      c.get(a).get(this.leaderDelta.get(check.of)!).op(Op.I32Add).set(p);
      return p;
    }
    let start = a; // of the range checked
    if (check.from !== 0) {
      start = c.local();
      c.get(a).i32(check.from).op(Op.I32Add).set(start);
    }
    // When the range fails where this access alone would pass (it straddles two pages, say), the
    // block still leaves here, but tells the core it was no stall (rangeExit): a sliding window
    // (a[i] and a[i + 10]) meets that at every step near a page's end, and must not rest.
    const wider = check.span > bytes;
    const rangeMiss = !wider ? undefined : () => {
      if (env.paging) c.get(this.tlbProbe(a, bytes, write).ok); else { this.plainRamMiss(a, bytes); c.op(Op.I32Eqz); }
      c.globalSet(env.links.rangeExit);
    };
    if (!env.paging) { this.requirePlainRam(start, check.span, rangeMiss); return a; }
    if (!this.pageCache && !check.followed) return this.tlbLookup(a, bytes, write);
    const delta = this.pageCache ? this.rememberedDelta(start, check.span, check.write, rangeMiss) : c.local();
    if (!this.pageCache) c.get(this.tlbLookup(start, check.span, check.write, rangeMiss)).get(start).op(Op.I32Sub).set(delta);
    this.leaderDelta.set(access, delta);
    const p = c.local();
    c.get(a).get(delta).op(Op.I32Add).set(p);
    return p;
  }

  // physical - linear for `span` bytes at linear `start`, from the page this check translated last
  // (its number + 1 in `page`; 0, as locals start, is none) when the range lies within it; else
  // from the TLB. A loop going through a page pays the TLB lookup once per page. (Two locals per
  // check: keeping more across a loop's rounds measured slower.)
  private rememberedDelta(start: number, span: number, write: boolean, beforeExit?: () => void): number {
    const c = this.c, page = c.local(), delta = c.local();
    c.get(start).i32(12).op(Op.I32ShrU).i32(1).op(Op.I32Add).get(page).op(Op.I32Ne);
    if (span > 1) c.get(start).i32(0xfff).op(Op.I32And).i32(0x1000 - span).op(Op.I32GtU).op(Op.I32Or);
    c.ifThen();
    const translated = this.tlbLookup(start, span, write, beforeExit);
    c.get(start).i32(12).op(Op.I32ShrU).i32(1).op(Op.I32Add).set(page);
    c.get(translated).get(start).op(Op.I32Sub).set(delta);
    c.end();
    return delta;
  }

  // The TLB's translation of the access, or leave the block (see physical()); `beforeExit` emits
  // what the way out needs besides.
  private tlbLookup(a: number, bytes: number, write: boolean, beforeExit?: () => void): number {
    const c = this.c, { ok, p } = this.tlbProbe(a, bytes, write);
    c.get(ok).op(Op.I32Eqz).ifThen();
    beforeExit?.();
    this.exitHere();
    c.end();
    return p;
  }

  // Whether the TLB allows the access (`ok`, a local), and its translation if so (`p`).
  private tlbProbe(a: number, bytes: number, write: boolean): { ok: number; p: number } {
    const c = this.c, env = this.env;
    const slot = c.local(), entry = c.local(), ok = c.local(), p = c.local();
    c.get(a).i32(12).op(Op.I32ShrU).i32(TLB_ENTRIES - 1).op(Op.I32And).i32(2).op(Op.I32Shl);
    c.get(this.tlbBank).op(Op.I32Add).set(slot);
    const user = env.cpl === 3;
    const need = T_PLAIN_RAM | (write ? (user ? S_USER_WRITE : S_SUPER_WRITE) : (user ? S_USER_READ : 0));
    // hit: the slot's tag is the page of the access's last byte + 1 (so an access crossing into
    // the next page misses), and the entry has the permission and the plain-RAM bit
    c.get(slot).mem(Op.I32Load, 0).get(a);
    if (bytes > 1) c.i32(bytes - 1).op(Op.I32Add);
    c.i32(12).op(Op.I32ShrU).i32(1).op(Op.I32Add).op(Op.I32Eq);
    c.get(slot).mem(Op.I32Load, TLB_ENTRIES_OFFSET).tee(entry).i32(need).op(Op.I32And).i32(need).op(Op.I32Eq).op(Op.I32And).set(ok);
    c.get(entry).i32(~0xfff).op(Op.I32And).get(a).i32(0xfff).op(Op.I32And).op(Op.I32Or).set(p);
    return { ok, p };
  }

  // `bytes` at `p` lie in RAM and clear of the hole (neither the first nor the last is in it), or
  // leave the block (`beforeExit` as in tlbLookup()).
  private requirePlainRam(p: number, bytes: number, beforeExit?: () => void): void {
    const c = this.c;
    this.plainRamMiss(p, bytes);
    c.ifThen();
    beforeExit?.();
    this.exitHere();
    c.end();
  }
  private plainRamMiss(p: number, bytes: number): void {
    const c = this.c;
    c.get(p).i32(HOLE_START - (bytes - 1)).op(Op.I32Sub).i32(HOLE_SIZE + bytes - 1).op(Op.I32LtU);
    c.get(p).i32(this.env.ramSize - bytes).op(Op.I32GtU).op(Op.I32Or);
  }

  private read(o: Operand): number {
    const c = this.c, v = c.local();
    if ("reg" in o) { this.loadReg(o.reg, o.bytes); c.set(v); return v; }
    const p = this.physical(this.address(o), o.bytes, false, o);
    c.get(p).mem(o.bytes === 1 ? Op.I32Load8U : o.bytes === 2 ? Op.I32Load16U : Op.I32Load, this.env.ramBase).set(v);
    return v;
  }

  // For a read-modify-write: the address is computed and checked (for writing) once.
  private locate(o: Operand): number | undefined {
    if ("reg" in o) return undefined;
    return this.physical(this.address(o), o.bytes, true, o);
  }
  private readAt(o: Operand, a: number | undefined): number {
    if (a === undefined) return this.read(o);
    const v = this.c.local();
    this.c.get(a).mem(o.bytes === 1 ? Op.I32Load8U : Op.I32Load, this.env.ramBase).set(v);
    return v;
  }
  private writeAt(o: Operand, a: number | undefined, value: number): void {
    if ("reg" in o) { this.storeReg(o.reg, o.bytes, value); return; }
    this.c.get(a!).get(value).mem(o.bytes === 1 ? Op.I32Store8 : Op.I32Store, this.env.ramBase);
    this.stores.push({ at: a!, bytes: o.bytes });
  }
  private write(o: Operand, value: number): void { this.writeAt(o, this.locate(o), value); }

  private constant(value: number): number {
    const v = this.c.local();
    this.c.i32(value | 0).set(v);
    return v;
  }

  // ---- leaving the block ---------------------------------------------------------------------
  // Hand control back before the current instruction: flags to the core, EIP, unused budget.
  private exitHere(): void {
    const c = this.c, l = this.env.links;
    emitMaterialize(c, this.flags, l);
    c.i32(this.ip).globalSet(l.eip);
    this.returnRefunding(this.count - this.index);
  }
  // Return, giving back the budget of the `unexecuted` instructions the block took at entry.
  private returnRefunding(unexecuted: number): void {
    const c = this.c, l = this.env.links;
    c.globalGet(l.budget).i32(unexecuted).op(Op.I32Add).globalSet(l.budget);
    c.op(Op.Return);
  }
  // The block ends after this instruction with EIP on the stack.
  private endWithEip(): void {
    const c = this.c, l = this.env.links;
    c.globalSet(l.eip);
    emitMaterialize(c, this.flags, l);
  }

  // ---- instructions ----------------------------------------------------------------------------
  private alu(kind: number, dst: Operand, src: () => number): void {
    const info = ALU_OPS[kind];
    if (!info) throw new Unsupported();
    const c = this.c, bytes = dst.bytes;
    const at = info.writes ? this.locate(dst) : undefined;
    const a = info.writes ? this.readAt(dst, at) : this.read(dst);
    const b = src();
    const res = c.local();
    c.get(a).get(b).op(info.wasm!);
    if (info.carryIn) { emitCarry(c, this.flags, this.env.links); c.op(info.wasm!); }
    if (bytes === 1) c.i32(0xff).op(Op.I32And);
    c.set(res);
    if (info.writes) this.writeAt(dst, at, res);
    this.flags = info.carryIn ? lazyWithCarryIn(info.op as typeof LazyOp.Add | typeof LazyOp.Sub, a, b, res, bytes) : lazy(info.op, a, b, res, bytes);
  }

  private incDec(o: Operand, decrement: boolean): void {
    const c = this.c;
    const carry = c.local();
    emitCarry(c, this.flags, this.env.links);
    c.set(carry);
    const at = this.locate(o);
    const a = this.readAt(o, at);
    const one = this.constant(1);
    const res = c.local();
    c.get(a).i32(1).op(decrement ? Op.I32Sub : Op.I32Add).set(res);
    this.writeAt(o, at, res);
    this.flags = lazy(decrement ? LazyOp.Sub : LazyOp.Add, a, one, res, 4, carry);
  }

  // ROL/ROR by a constant: only CF and OF change (assembly/cpu/shift.ts computes OF for any count).
  private rotate(left: boolean, o: Operand, count: number): void {
    const c = this.c;
    const at = this.locate(o);
    const v = this.readAt(o, at);
    const res = c.local();
    c.get(v).i32(count).op(left ? Op.I32Rotl : Op.I32Rotr).set(res);
    this.writeAt(o, at, res);
    const flags = c.local();
    emitArithFlags(c, this.flags, this.env.links);
    c.i32(~(CF | OF)).op(Op.I32And);
    if (left) { // CF = bit 0 of the result, OF = MSB ^ CF
      c.get(res).i32(1).op(Op.I32And).op(Op.I32Or);
      c.get(res).i32(31).op(Op.I32ShrU).get(res).op(Op.I32Xor).i32(1).op(Op.I32And).i32(11).op(Op.I32Shl).op(Op.I32Or);
    } else { // CF = MSB of the result, OF = MSB ^ bit 30
      c.get(res).i32(31).op(Op.I32ShrU).op(Op.I32Or);
      c.get(res).i32(31).op(Op.I32ShrU).get(res).i32(30).op(Op.I32ShrU).op(Op.I32Xor).i32(1).op(Op.I32And).i32(11).op(Op.I32Shl).op(Op.I32Or);
    }
    c.set(flags);
    this.flags = { kind: "eager", flags };
  }

  private shift(kind: number, o: Operand, count: number): void {
    if (count === 0) {
      // a zero count changes nothing, flags included; but a memory operand is still accessed (and
      // may fault): the interpreter does that one
      if ("reg" in o) return;
      throw new Unsupported();
    }
    if (kind === 0 || kind === 1) { this.rotate(kind === 0, o, count); return; }
    const c = this.c;
    const at = this.locate(o);
    const v = this.readAt(o, at);
    const res = c.local();
    const wasm = kind === 4 || kind === 6 ? Op.I32Shl : kind === 5 ? Op.I32ShrU : kind === 7 ? Op.I32ShrS : undefined;
    if (wasm === undefined) throw new Unsupported();
    c.get(v).i32(count).op(wasm).set(res);
    this.writeAt(o, at, res);
    const bit = (shiftOp: Op, by: number) => c.get(v).i32(by).op(shiftOp).i32(1).op(Op.I32And);
    const cf = () => (wasm === Op.I32Shl ? bit(Op.I32ShrU, 32 - count) : bit(wasm === Op.I32ShrU ? Op.I32ShrU : Op.I32ShrS, count - 1));
    const of = () => {
      if (wasm === Op.I32Shl) { c.get(res).i32(31).op(Op.I32ShrU); cf(); c.op(Op.I32Xor); }
      else if (wasm === Op.I32ShrU) c.get(v).i32(31).op(Op.I32ShrU);
      else c.i32(0);
    };
    this.flags = emitEagerFlags(c, cf, of, res, 4);
  }

  private imul(dst: number, a: number, b: number): void {
    const c = this.c, res = c.local(), overflow = c.local();
    const product = () => c.get(a).op(Op.I64ExtendI32S).get(b).op(Op.I64ExtendI32S).op(Op.I64Mul);
    product();
    c.op(Op.I32WrapI64).set(res);
    // CF = OF = the product does not fit: it differs from its sign-extended low half
    product();
    c.get(res).op(Op.I64ExtendI32S).op(Op.I64Ne).set(overflow);
    this.storeReg(dst, 4, res);
    this.flags = emitEagerFlags(c, () => c.get(overflow), () => c.get(overflow), res, 4);
  }

  // MUL r/m32: EDX:EAX = EAX * src; CF = OF = the high half is not 0, SZP of the low half
  // (undefined on hardware; the interpreter's choice, assembly/cpu/muldiv.ts).
  private mul(src: number): void {
    const c = this.c, eax = c.local(), low = c.local(), high = c.local();
    this.loadReg(EAX, 4);
    c.set(eax);
    const product = () => c.get(eax).op(Op.I64ExtendI32U).get(src).op(Op.I64ExtendI32U).op(Op.I64Mul);
    product(); c.op(Op.I32WrapI64).set(low);
    product(); c.i64(32).op(Op.I64ShrU).op(Op.I32WrapI64).set(high);
    this.storeReg(EAX, 4, low);
    this.storeReg(EDX, 4, high);
    const overflow = () => c.get(high).i32(0).op(Op.I32Ne);
    this.flags = emitEagerFlags(c, overflow, overflow, low, 4);
  }

  // DIV r/m32: EAX, EDX = EDX:EAX / src, % src; flags unchanged. A zero divisor or a quotient that
  // does not fit (EDX >= src) leaves the block before it, for the interpreter to raise #DE.
  private div(src: number): void {
    const c = this.c, eax = c.local(), edx = c.local(), quotient = c.local(), remainder = c.local();
    this.loadReg(EDX, 4);
    c.tee(edx).get(src).op(Op.I32GeU).ifThen();
    this.exitHere();
    c.end();
    this.loadReg(EAX, 4);
    c.set(eax);
    const dividend = () => c.get(edx).op(Op.I64ExtendI32U).i64(32).op(Op.I64Shl).get(eax).op(Op.I64ExtendI32U).op(Op.I64Or);
    dividend(); c.get(src).op(Op.I64ExtendI32U).op(Op.I64DivU).op(Op.I32WrapI64).set(quotient);
    dividend(); c.get(src).op(Op.I64ExtendI32U).op(Op.I64RemU).op(Op.I32WrapI64).set(remainder);
    this.storeReg(EAX, 4, quotient);
    this.storeReg(EDX, 4, remainder);
  }

  private push(value: number): void {
    const c = this.c, sp = c.local();
    this.loadReg(ESP, 4);
    c.i32(4).op(Op.I32Sub).set(sp);
    const at = this.physical(sp, 4, true);
    c.get(at).get(value).mem(Op.I32Store, this.env.ramBase);
    this.stores.push({ at, bytes: 4 });
    this.storeReg(ESP, 4, sp);
  }

  private pop(): number {
    const c = this.c, sp = c.local(), v = c.local();
    this.loadReg(ESP, 4);
    c.set(sp);
    c.get(this.physical(sp, 4, false)).mem(Op.I32Load, this.env.ramBase).set(v);
    c.get(sp).i32(4).op(Op.I32Add).set(sp);
    this.storeReg(ESP, 4, sp);
    return v;
  }

  // Translate one instruction; returns false when it ends the block.
  // Self-modifying code: when the instruction just translated stored into this block's own bytes,
  // the rest of the block may be stale; leave after this instruction (the next entry compares the
  // bytes and recompiles).
  exitIfCodeWritten(nextIp: number, index: number, blockBytes: number): void {
    const c = this.c;
    const start = this.env.physical, end = this.env.physical + blockBytes;
    for (const { at, bytes } of this.stores) {
      c.get(at).i32(end).op(Op.I32LtU).get(at).i32(bytes).op(Op.I32Add).i32(start).op(Op.I32GtU).op(Op.I32And);
      c.ifThen();
      this.exitAfter(nextIp, index);
      c.end();
    }
    this.stores = [];
  }

  // Hand control back after instruction `index` (ending at `nextIp`): flags, EIP, unused budget.
  private exitAfter(nextIp: number, index: number): void {
    const c = this.c, l = this.env.links;
    emitMaterialize(c, this.flags, l);
    c.i32(nextIp | 0).globalSet(l.eip);
    this.returnRefunding(this.count - index - 1);
  }

  step(ip: number, index: number): boolean {
    this.ip = ip;
    this.index = index;
    this.pos = ip;
    const c = this.c;
    const op = this.u8();
    if (op < 0x40 && (op & 7) < 6) {
      const kind = op >> 3;
      const bytes = op & 1 ? 4 : 1;
      if ((op & 7) >= 4) { // AL/EAX, imm
        const imm = bytes === 1 ? this.u8() : this.u32();
        this.alu(kind, { reg: 0, bytes }, () => this.constant(imm));
      } else {
        const { reg, rm } = this.modrm(bytes);
        const r: Operand = { reg, bytes };
        if (op & 2) this.alu(kind, r, () => this.read(rm)); else this.alu(kind, rm, () => this.read(r));
      }
      return true;
    }
    switch (op) {
      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        this.incDec({ reg: op & 7, bytes: 4 }, op >= 0x48); return true;
      case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: {
        const v = c.local();
        this.loadReg(op & 7, 4); c.set(v);
        this.push(v); return true;
      }
      case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
        this.storeReg(op & 7, 4, this.pop()); return true;
      case 0x68: this.push(this.constant(this.u32())); return true;
      case 0x6a: this.push(this.constant(this.s8())); return true;
      case 0x69: case 0x6b: {
        const { reg, rm } = this.modrm(4);
        const a = this.read(rm);
        this.imul(reg, a, this.constant(op === 0x6b ? this.s8() : this.u32()));
        return true;
      }
      case 0x80: case 0x81: case 0x83: {
        const bytes = op === 0x80 ? 1 : 4;
        const { reg, rm } = this.modrm(bytes);
        const imm = op === 0x81 ? this.u32() : op === 0x83 ? this.s8() : this.u8();
        this.alu(reg, rm, () => this.constant(imm));
        return true;
      }
      case 0x84: case 0x85: {
        const bytes = op === 0x84 ? 1 : 4;
        const { reg, rm } = this.modrm(bytes);
        const a = this.read(rm), b = this.read({ reg, bytes }), res = c.local();
        c.get(a).get(b).op(Op.I32And).set(res);
        this.flags = lazy(LazyOp.Logic, a, b, res, bytes);
        return true;
      }
      case 0x88: case 0x89: {
        const bytes = op === 0x88 ? 1 : 4;
        const { reg, rm } = this.modrm(bytes);
        this.write(rm, this.read({ reg, bytes }));
        return true;
      }
      case 0x8a: case 0x8b: {
        const bytes = op === 0x8a ? 1 : 4;
        const { reg, rm } = this.modrm(bytes);
        this.storeReg(reg, bytes, this.read(rm));
        return true;
      }
      case 0x8d: {
        const { reg, rm } = this.modrm(4);
        if ("reg" in rm) throw new Unsupported();
        this.storeReg(reg, 4, this.address(rm));
        return true;
      }
      case 0x90: return true;
      case 0x99: {
        const v = c.local();
        this.loadReg(0, 4); c.i32(31).op(Op.I32ShrS).set(v);
        this.storeReg(2, 4, v);
        return true;
      }
      case 0xa8: case 0xa9: {
        const bytes = op === 0xa8 ? 1 : 4;
        const a = this.read({ reg: 0, bytes });
        const b = this.constant(bytes === 1 ? this.u8() : this.u32());
        const res = c.local();
        c.get(a).get(b).op(Op.I32And).set(res);
        this.flags = lazy(LazyOp.Logic, a, b, res, bytes);
        return true;
      }
      case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
        this.storeReg(op & 7, 1, this.constant(this.u8())); return true;
      case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        this.storeReg(op & 7, 4, this.constant(this.u32())); return true;
      case 0xc1: case 0xd1: {
        const { reg, rm } = this.modrm(4);
        const count = (op === 0xc1 ? this.u8() : 1) & 31;
        this.shift(reg, rm, count);
        return true;
      }
      case 0xc6: case 0xc7: {
        const bytes = op === 0xc6 ? 1 : 4;
        const { reg, rm } = this.modrm(bytes);
        if (reg !== 0) throw new Unsupported();
        const at = this.locate(rm); // the address comes before the immediate in the encoding
        this.writeAt(rm, at, this.constant(bytes === 1 ? this.u8() : this.u32()));
        return true;
      }
      case 0xa0: case 0xa1: case 0xa2: case 0xa3: { // MOV between AL/EAX and a 32-bit address
        const bytes = op & 1 ? 4 : 1;
        const at: Operand = { mem: true, base: -1, index: -1, scale: 0, disp: this.u32(), bytes };
        const acc: Operand = { reg: EAX, bytes };
        if (op < 0xa2) this.storeReg(EAX, bytes, this.read(at)); else this.write(at, this.read(acc));
        return true;
      }
      case 0xf6: case 0xf7: {
        const bytes = op === 0xf6 ? 1 : 4;
        const { reg, rm } = this.modrm(bytes);
        if (reg === 0) {
          const a = this.read(rm), b = this.constant(bytes === 1 ? this.u8() : this.u32()), res = c.local();
          c.get(a).get(b).op(Op.I32And).set(res);
          this.flags = lazy(LazyOp.Logic, a, b, res, bytes);
          return true;
        }
        if (bytes === 4 && reg === 4) { this.mul(this.read(rm)); return true; }
        if (bytes === 4 && reg === 6) { this.div(this.read(rm)); return true; }
        if (bytes !== 4 || (reg !== 2 && reg !== 3)) throw new Unsupported();
        const at = this.locate(rm);
        const a = this.readAt(rm, at), res = c.local();
        if (reg === 2) { c.get(a).i32(-1).op(Op.I32Xor).set(res); this.writeAt(rm, at, res); return true; }
        const zero = this.constant(0);
        c.i32(0).get(a).op(Op.I32Sub).set(res);
        this.writeAt(rm, at, res);
        this.flags = lazy(LazyOp.Sub, zero, a, res, 4);
        return true;
      }
      case 0x0f: return this.twoByte();
      case 0xe4: case 0xe5: case 0xe6: case 0xe7: return this.portIo(op, this.u8()); // IN/OUT imm8
      case 0xec: case 0xed: case 0xee: case 0xef: return this.portIo(op); // IN/OUT DX
      // block ends
      case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
      case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
        const rel = this.s8();
        this.jcc(op & 15, (this.pos + rel) >>> 0);
        return false;
      }
      case 0xe2: case 0xe3: this.loopOrJecxz(op); return false;
      case 0xe8: {
        const rel = this.u32();
        this.push(this.constant(this.pos));
        c.i32((this.pos + rel) | 0);
        this.endWithEip();
        return false;
      }
      case 0xe9: { const rel = this.u32(); c.i32((this.pos + rel) | 0); this.endWithEip(); return false; }
      case 0xeb: { const rel = this.s8(); c.i32((this.pos + rel) | 0); this.endWithEip(); return false; }
      case 0xc3: { const target = this.pop(); c.get(target); this.endWithEip(); return false; }
      default: throw new Unsupported();
    }
  }

  // Jcc, LOOP, JECXZ: `condition` pushes 1 to take the branch, 0 not to.
  private conditionalJump(target: number, condition: () => void): void {
    this.jccTarget = target;
    if (this.loops) { this.loopBack(condition); return; }
    const c = this.c;
    c.i32(target | 0).i32(this.pos | 0);
    condition();
    c.op(Op.Select);
    this.endWithEip();
  }
  private jcc(cc: number, target: number): void {
    this.conditionalJump(target, () => emitCondition(this.c, cc, this.flags, this.env.links));
  }

  // A loop that is one block: taken, and with budget for another round (the rule the core applies
  // before entering a block), it goes round without leaving; the flags go to the core's globals,
  // where the block's first instruction expects them. Otherwise it ends as any Jcc does.
  private loopBack(condition: () => void): void {
    const c = this.c, l = this.env.links, taken = c.local();
    condition();
    c.set(taken);
    emitMaterialize(c, this.flags, l);
    this.flags = { kind: "unknown" };
    c.get(taken).globalGet(l.budget).i32(this.count).op(Op.I32GtU).op(Op.I32And).ifThen();
    c.globalGet(l.budget).i32(this.count).op(Op.I32Sub).globalSet(l.budget);
    c.br(1);
    c.end();
    c.i32(this.env.eip | 0).i32(this.pos | 0).get(taken).op(Op.Select);
    this.endWithEip();
    c.end(); // the loop
  }

  // LOOP (ECX - 1, taken while not 0) and JECXZ (taken when ECX is 0): no flags change.
  private loopOrJecxz(op: number): void {
    const c = this.c, target = (this.s8() + this.pos) >>> 0, ecx = c.local();
    this.loadReg(ECX, 4);
    if (op === 0xe2) c.i32(1).op(Op.I32Sub);
    c.set(ecx);
    if (op === 0xe2) this.storeReg(ECX, 4, ecx);
    this.conditionalJump(target, () => {
      c.get(ecx).op(Op.I32Eqz); // JECXZ's condition
      if (op === 0xe2) c.op(Op.I32Eqz); // LOOP's: ECX is not 0
    });
  }

  private twoByte(): boolean {
    const c = this.c;
    const op = this.u8();
    if (op >= 0x80 && op <= 0x8f) {
      const rel = this.u32();
      this.jcc(op & 15, (this.pos + rel) >>> 0);
      return false;
    }
    if (op >= 0x40 && op <= 0x4f) { // CMOVcc: the source is read whatever the condition
      const { reg, rm } = this.modrm(4);
      const v = this.read(rm), out = c.local();
      c.get(v);
      this.loadReg(reg, 4);
      emitCondition(c, op & 15, this.flags, this.env.links);
      c.op(Op.Select).set(out);
      this.storeReg(reg, 4, out);
      return true;
    }
    if (op >= 0x90 && op <= 0x9f) {
      const { rm } = this.modrm(1);
      const v = c.local();
      emitCondition(c, op & 15, this.flags, this.env.links);
      c.set(v);
      this.write(rm, v);
      return true;
    }
    switch (op) {
      case 0x01: if (this.u8() !== 0xc1) throw new Unsupported(); return this.exit(EXIT_VMCALL);
      case 0xa2: return this.exit(EXIT_CPUID);
      case 0x22: return this.movToCr3();
      case 0xaf: {
        const { reg, rm } = this.modrm(4);
        const b = this.read(rm), a = c.local();
        this.loadReg(reg, 4); c.set(a);
        this.imul(reg, a, b);
        return true;
      }
      case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
        const bytes = op & 1 ? 2 : 1;
        const { reg, rm } = this.modrm(bytes);
        if ("reg" in rm && bytes === 2) throw new Unsupported(); // 16-bit registers are not modelled here
        const v = this.read(rm);
        if (op >= 0xbe) { c.get(v).op(bytes === 1 ? Op.I32Extend8S : Op.I32Extend16S).set(v); }
        this.storeReg(reg, 4, v);
        return true;
      }
      default: throw new Unsupported();
    }
  }

  // IN and OUT: instructions that usually exit to the VMM, and that change nothing a block assumes
  // (mode, segments, paging, IF, TF) nor read the retired-instruction count. The core performs one
  // with all its checks (assembly/jit/helpers.ts jitPortIo) and delivers its exit to the VMM right
  // there; the block goes on unless the VM entry after the handler needs more than the next
  // instruction, or the instruction faulted, so a loop around an exit stays compiled.
  private portIo(op: number, immediatePort?: number): boolean {
    const c = this.c, l = this.env.links;
    this.beforeCore();
    if (immediatePort === undefined) { this.loadReg(EDX, 4); c.i32(0xffff).op(Op.I32And); } else c.i32(immediatePort);
    const input = (op & 2) === 0 ? IO_INFO_INPUT : 0, bytes = op & 1 ? 4 : 1;
    const info = input | (bytes << IO_INFO_SIZE_SHIFT) | (immediatePort === undefined ? 0 : IO_INFO_IMMEDIATE) | ((this.pos - this.ip) << IO_INFO_LENGTH_SHIFT);
    c.i32(info).i32(this.count - this.index - 1).i32(this.env.entry).call(l.jitPortIo);
    this.endIfCoreSaysSo();
    return true;
  }
  // CPUID and VMCALL, which always exit: the exit itself (jitExit), delivered the same way.
  private exit(reason: number): boolean {
    const c = this.c, l = this.env.links;
    this.beforeCore();
    c.i32(reason).i32(this.pos - this.ip).i32(this.count - this.index - 1).i32(this.env.entry).call(l.jitExit);
    this.endIfCoreSaysSo();
    return true;
  }
  // The core takes over at this instruction: flags and EIP in its globals. IN, OUT, CPUID and
  // VMCALL change no flag, and the block goes on only if the VMM's handler left EFLAGS alone, so
  // the block's own view of the flags still holds after them (interpret() forgets it).
  private beforeCore(): void {
    this.callCore();
    emitMaterialize(this.c, this.flags, this.env.links);
    this.c.i32(this.ip | 0).globalSet(this.env.links.eip);
  }
  // The block calls into the core here: no page cache, and no check shared across the call (the
  // core may change the TLB).
  private callCore(): void {
    this.callsCore = true;
    this.events.push({ kind: "core" });
  }
  // With the core's nonzero answer on the stack, the block ends, EIP where the core left it.
  private endIfCoreSaysSo(): void {
    this.c.ifThen();
    this.returnRefunding(this.count - this.index - 1);
    this.c.end();
  }

  // MOV CR3, r32 at CPL 0, the address-space switch of a guest kernel's scheduler. The core
  // (assembly/jit/helpers.ts jitLoadCr3) completes it when it needs no exit (a CR3-target hit, say) and
  // says whether this block's own page still maps to the same frame: then the block goes on, in
  // the new address space's TLB bank; else it ends after the MOV. When the MOV must exit, the
  // block leaves before it and the interpreter performs the exit.
  private movToCr3(): boolean {
    const { reg, rm } = this.modrm(4);
    // Not as a block's first instruction: a block starts there only after a MOV that missed the
    // CR3-target list left the block before it, and it would miss again, entered for nothing.
    if (reg !== 3 || !("reg" in rm) || this.env.cpl !== 0 || this.index === 0) throw new Unsupported();
    this.switchesSpace = true;
    this.callCore();
    const c = this.c, l = this.env.links, result = c.local();
    this.loadReg(rm.reg, 4);
    c.i32(this.env.eip & ~0xfff).i32(this.env.physical & ~0xfff).call(l.jitLoadCr3).set(result);
    c.get(result).op(Op.I32Eqz).ifThen();
    this.exitHere();
    c.end();
    c.get(result).i32(CR3_SWITCHED_SAME_PAGE).op(Op.I32Ne).ifThen();
    this.exitAfter(this.pos, this.index);
    c.end();
    if (this.env.paging) c.globalGet(l.tlbBank).set(this.tlbBank);
    return true;
  }

  // An instruction this translator does not compile, `length` bytes: the core's interpreter
  // executes it in place (assembly/jit/helpers.ts jitInterpret) and the block goes on after it,
  // unless the core says the block must end (it branched, faulted, exited, changed the mode...).
  // The core may have changed any flag: from here the block reads them from its globals.
  interpret(ip: number, index: number, length: number): void {
    this.ip = ip;
    this.index = index;
    this.pos = ip + length;
    const c = this.c;
    this.beforeCore();
    c.i32(length).i32(this.count - index - 1).i32(this.env.entry).call(this.env.links.jitInterpret);
    this.endIfCoreSaysSo();
    this.flags = { kind: "unknown" };
  }

  position(): number { return this.pos; }

  finishBeforeUnsupported(ip: number, index: number): void {
    this.ip = ip;
    this.index = index;
    this.c.i32(ip | 0);
    this.endWithEip();
  }
}

/**
 * Translate the block at env.eip. The instruction count is needed up front (side exits refund
 * the budget of the instructions they skip), so the block is first measured, then translated.
 */
export function translateBlock(env: TranslateEnv): Translation | undefined {
  const measure = scan(env);
  if (measure.instructions === 0) return undefined;
  const t = new Translator(env, measure.instructions, measure.loops, env.paging && !measure.callsCore, planAccessChecks(measure.events));
  let ip = env.eip;
  for (let i = 0; i < measure.instructions; i++) {
    const interpreted = measure.interpreted.get(i);
    if (interpreted !== undefined) {
      t.interpret(ip, i, interpreted);
    } else {
      const more = t.step(ip, i);
      if (more) t.exitIfCodeWritten(measure.ends[i], i, measure.ends[measure.instructions - 1] - env.eip);
    }
    ip = measure.ends[i];
  }
  if (!measure.endsWithBranch) t.finishBeforeUnsupported(ip, measure.instructions);
  return { body: t.c, instructions: measure.instructions, length: ip - env.eip, loops: measure.loops };
}

interface Measure {
  instructions: number;
  ends: number[];
  endsWithBranch: boolean;
  loops: boolean;
  callsCore: boolean;
  events: AccessEvent[];
  /** Instructions the core's interpreter executes in place, by index: their lengths. */
  interpreted: Map<number, number>;
}

function scan(env: TranslateEnv): Measure {
  const ends: number[] = [], events: AccessEvent[] = [], interpreted = new Map<number, number>();
  let ip = env.eip;
  let switchesSpace = false, callsCore = false;
  const until = (endsWithBranch: boolean, loops = false): Measure => ({ instructions: ends.length, ends, endsWithBranch, loops, callsCore, events, interpreted });
  for (let i = 0; i < MAX_INSTRUCTIONS; i++) {
    let probe = new Translator(env, i + 1);
    let more = true, endsAfter = false;
    try {
      more = probe.step(ip, i);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      // A block never starts with one: entered only to interpret, it would cost more than it saves.
      const form = i === 0 ? undefined : interpretable(env, ip);
      if (form === undefined) return until(false);
      // a fresh probe: the failed one may have noted accesses the interpreted form will not make
      probe = new Translator(env, i + 1);
      probe.interpret(ip, i, form.length);
      interpreted.set(i, form.length);
      endsAfter = form.endsBlock;
    }
    ip = probe.position();
    if (ip - env.eip > MAX_BLOCK_BYTES) return until(false);
    ends.push(ip);
    events.push(...probe.events);
    switchesSpace ||= probe.switchesSpace;
    callsCore ||= probe.callsCore;
    // A loop goes round inside the block unless it may switch address spaces (its TLB bank and the
    // mapping of its own code would have to be checked again at every round). A loop around an
    // exit goes round too: the exit is handled inside the block (portIo, exit).
    if (!more) return until(true, probe.jccTarget === env.eip && !switchesSpace);
    if (endsAfter) return until(false);
  }
  return until(false);
}

// How the interpreter may execute the instruction at `ip` inside the block: its length, and whether
// the block must end after it (it may transfer control: the rest would be dead code, compared and
// counted for nothing); undefined when the block must end before it instead. Not REP/REPNE string
// instructions (they spend budget per iteration) nor what changes IF (CLI, STI, POPF, IRET:
// compiled code never does, so the run loop's interrupt checks between blocks stay exact), and
// only whole within the block's page and size.
function interpretable(env: TranslateEnv, ip: number): { length: number; endsBlock: boolean } | undefined {
  const offset = ip - env.eip;
  const room = Math.min(0x1000 - ((env.physical + offset) & 0xfff), MAX_BLOCK_BYTES - offset, env.code.length - (env.physical + offset));
  if (room <= 0) return undefined;
  const bytes = env.code.subarray(env.physical + offset, env.physical + offset + room);
  const { length, known, prefixes } = disassemble(bytes, ip);
  if (!known || length > room || bytes.subarray(0, prefixes).some((p) => p === 0xf2 || p === 0xf3)) return undefined;
  const op = bytes[prefixes];
  if (CHANGES_IF.has(op)) return undefined;
  const reg = (bytes[prefixes + 1] >> 3) & 7;
  const indirect = op === 0xff && reg >= 2 && reg <= 5;
  return { length, endsBlock: (ONE_BYTE[op] & REL) !== 0 || TRANSFERS.has(op) || indirect };
}
const CHANGES_IF = new Set([0xfa, 0xfb, 0x9d, 0xcf]);
// RET imm16, far CALL/JMP/RET, INT3, INT n, INTO (FF /2-/5 and the REL rows are found apart).
const TRANSFERS = new Set([0xc2, 0x9a, 0xea, 0xca, 0xcb, 0xcc, 0xcd, 0xce]);
