// Random fuzz cases: a machine (RAM size; flat ring 0, flat ring 3, segmented, 16-bit or real
// mode; paging on or off with random page tables), random VMCS controls (exception bitmap, HLT,
// RDTSC, INVLPG and CR3-load exiting, CR0/CR4 guest/host masks and read shadows, CR3 targets,
// I/O bitmaps, IF mode, a write trap, the compiling tier on or off), random registers and
// EFLAGS, a few VM entries with budgets and injected events, and the code: a fresh random stream
// or a mutation of an earlier case's.
import * as L from "../../assembly/vmcs-layout.js";
import * as B from "../../assembly/vmcb-layout.js";
import { type CaseSetup, type Entry, type FuzzCase, toHex } from "./fuzz-case.js";
import {
  CODE, DATA, GDT, IDT, PD, SEL, TSS, USER_STACK, type MemoryWriter,
  writeGdt, writeIdt, writeIvt, writePageTables, writeTss,
} from "./machine-tables.js";
import { mutateProgram, randomProgram } from "./program.js";
import { type Rng, interestingU32 } from "./rng.js";
import { VMCS_FIELD } from "../vmm/nested/vmcs12-fields.js";

type Mode = "flat0" | "flat3" | "segmented" | "code16" | "real";

// Mostly small: a fresh core costs about 1 ms per MiB of RAM to set up.
const RAM_SIZES = [[8, 0x20000], [3, 0x30000], [3, 0x100000], [1, 0x110000], [1, 0x400000]] as const;
const AR = { code0: 0xc09b, data0: 0xc093, code3: 0xc0fb, data3: 0xc0f3, code16: 0x9b, data16: 0x93, tss: 0x8b } as const;

class Builder implements MemoryWriter {
  readonly setup: CaseSetup;
  constructor(ram: number) {
    this.setup = { ram, vmcs: [], ioBitmap: [], memory: [], runs: [], codeAt: CODE, entries: [] };
  }
  bytes(at: number, data: ArrayLike<number>): void { this.setup.memory.push([at, toHex(Uint8Array.from(data))]); }
  dword(at: number, value: number): void { this.bytes(at, [value, value >>> 8, value >>> 16, value >>> 24]); }
  run(at: number, count: number, first: number, step: number): void { this.setup.runs.push([at, count, first >>> 0, step]); }
  field(offset: number, value: number): void { this.setup.vmcs.push([offset, value >>> 0]); }
  segment(sreg: number, selector: number, base: number, limit: number, ar: number): void {
    const at = L.G_SEG + sreg * L.SEG_STRIDE;
    this.field(at + L.SEG_SEL, selector);
    this.field(at + L.SEG_BASE, base);
    this.field(at + L.SEG_LIMIT, limit);
    this.field(at + L.SEG_AR, ar);
  }
}

function segments(b: Builder, rng: Rng, mode: Mode, codeBytes: number): void {
  const data = (s: number, sel: number, ar: number, limit = 0xffffffff, base = 0): void => b.segment(s, sel, base, limit, ar);
  const all = [L.SR_ES, L.SR_SS, L.SR_DS, L.SR_FS, L.SR_GS];
  if (mode === "real") {
    b.segment(L.SR_CS, CODE >> 4, CODE, 0xffff, AR.code16);
    for (const s of all) data(s, 0, AR.data16, 0xffff);
    return;
  }
  if (mode === "code16") {
    b.segment(L.SR_CS, SEL.code16, CODE, 0xffff, AR.code16);
    for (const s of all) data(s, SEL.data16, AR.data16, 0xffff);
    return;
  }
  const user = mode === "flat3";
  b.segment(L.SR_CS, user ? SEL.code3 : SEL.code0, 0, 0xffffffff, user ? AR.code3 : AR.code0);
  for (const s of all) data(s, user ? SEL.data3 : SEL.data0, user ? AR.data3 : AR.data0);
  if (mode !== "segmented") return;
  // limits that code and data can run into, bases that move data around, expand-down and unusable
  b.segment(L.SR_CS, SEL.code0, 0, CODE + rng.below(codeBytes + 16), AR.code0);
  for (const s of [L.SR_DS, L.SR_ES, L.SR_FS, L.SR_GS]) {
    if (rng.chance(0.5)) continue;
    const ar = rng.weighted([[4, AR.data0], [1, AR.data0 | 4], [1, L.AR_UNUSABLE], [1, AR.code0]] as const);
    data(s, SEL.data0, ar, interestingU32(rng), rng.chance(0.5) ? 0 : rng.below(0x10000));
  }
  if (rng.chance(0.3)) data(L.SR_SS, SEL.data0, AR.data0 | 4, rng.below(0x10000));
}

function registers(b: Builder, rng: Rng, mode: Mode, ram: number): void {
  for (let r = 0; r < 8; r++) {
    const value = r === 4
      ? rng.weighted([[17, mode === "flat3" ? USER_STACK : 0xf000], [1, 0], [1, 2], [1, ram - 2], [1, 0xfffffffe], [1, interestingU32(rng)]] as const)
      : rng.weighted([[4, () => DATA + rng.below(0x100)], [3, () => interestingU32(rng)], [1, () => CODE + rng.below(0x100)],
        [1, () => ram - rng.below(8)], [1, () => -rng.below(16)]] as const)();
    b.field(L.G_REGS + r * 4, value);
  }
  b.field(L.G_EIP, mode === "real" || mode === "code16" ? 0 : CODE);
  let flags = 2 | (rng.u32() & 0x8d5);
  if (rng.chance(0.5)) flags |= 0x200; // IF
  if (rng.chance(0.1)) flags |= 0x400; // DF
  if (rng.chance(0.05)) flags |= 0x100; // TF
  if (rng.chance(0.2)) flags |= rng.below(4) << 12; // IOPL
  if (rng.chance(0.05)) flags |= rng.pick([0x4000, 0x40000, 0x200000]); // NT AC ID
  b.field(L.G_EFLAGS, flags);
}

const CR4_VMXE = 1 << 13;

/** Returns true when rAX names a VMCB for the core's VMRUN (svmLevelSwitch). */
function controls(b: Builder, rng: Rng, cr0: number, cr3: number, vmxe: number): boolean {
  const bit = (p: number, value: number): number => (rng.chance(p) ? value : 0);
  b.field(L.C_PRIMARY, bit(0.7, L.CTL_HLT_EXITING) | bit(0.3, L.CTL_INVLPG_EXITING) | bit(0.3, L.CTL_RDTSC_EXITING) |
    bit(0.4, L.CTL_CR3_LOAD_EXITING) | bit(0.5, L.CTL_UNCONDITIONAL_IO) | bit(0.3, L.CTL_USE_IO_BITMAPS) | bit(0.05, L.CTL_INTERRUPT_WINDOW));
  b.field(L.C_HOST_WORK_YIELD, bit(0.5, 1));
  b.field(L.C_EXCEPTION_BITMAP, rng.weighted([[1, 0], [1, 0xffffffff], [1, rng.u32()], [1, rng.pick([1 << 13, 1 << 14, 1 << 6, (1 << 13) | (1 << 14)])]] as const));
  const crBits = [1, 2, 4, 8, 0x20, 0x10000, 0x40000, 0x20000000, 0x40000000, 0x80000000];
  let cr0Mask = 0;
  for (const m of crBits) cr0Mask |= bit(0.2, m);
  b.field(L.C_CR0_MASK, cr0Mask);
  b.field(L.C_CR0_SHADOW, rng.chance(0.8) ? cr0 : rng.u32());
  b.field(L.C_CR4_MASK, (rng.chance(0.5) ? 0 : rng.u32() & 0x7ff) | (vmxe && rng.chance(0.9) ? vmxe : 0));
  b.field(L.C_CR4_SHADOW, rng.u32() & 0x7ff);
  const targets = rng.below(5);
  b.field(L.C_CR3_TARGET_COUNT, targets);
  for (let i = 0; i < 4; i++) b.field(L.C_CR3_TARGETS + i * 4, rng.chance(0.5) ? cr3 : interestingU32(rng) & ~0xfff);
  b.field(L.C_IF_MODE, rng.weighted([[6, L.IF_MODE_VT], [3, L.IF_MODE_TRAP], [2, L.IF_MODE_CLASSIC], [2, L.IF_MODE_BT]] as const));
  b.field(L.C_VMM_GDTR_BASE, 0xffc07000);
  b.field(L.C_VMM_GDTR_LIMIT, 0xfff);
  b.field(L.C_VMM_IDTR_BASE, 0xffc18000);
  b.field(L.C_VMM_IDTR_LIMIT, 0x7ff);
  b.field(L.C_VMM_CR0, 0x8001003b);
  b.field(L.C_VMM_LDTR, 0x0ff0);
  b.field(L.C_VMM_TR, 0x0ff8);
  b.field(L.C_JIT, bit(0.5, 1));
  if (rng.chance(0.25)) {
    b.field(L.C_WRITE_TRAP_BASE, rng.pick([CODE, DATA, PD, 0xe000, 0xa0000, rng.below(b.setup.ram)]));
    b.field(L.C_WRITE_TRAP_SIZE, rng.range(1, 0x2000));
  }
  for (let n = rng.chance(0.3) ? rng.below(24) : 0; n > 0; n--) {
    b.setup.ioBitmap.push([rng.chance(0.5) ? rng.below(0x20) : rng.below(0x2000), rng.u32() & 0xff]);
  }
  b.field(L.G_TSC_LO, rng.chance(0.8) ? 0 : rng.u32());
  // SYSENTER/SYSEXIT: mostly the tables' flat ring-0 code (its data, ring-3 code and data follow it),
  // sometimes a null selector (#GP) or any other
  b.field(L.G_MSR_SYSENTER_CS, rng.weighted([[6, SEL.code0], [1, SEL.code0 | 3], [2, rng.below(4)], [1, rng.u32() & 0xffff]] as const));
  b.field(L.G_MSR_SYSENTER_ESP, rng.chance(0.8) ? USER_STACK : interestingU32(rng));
  b.field(L.G_MSR_SYSENTER_EIP, rng.chance(0.8) ? CODE + rng.below(64) : interestingU32(rng));
  // EFER.SVME as the AMD personality with SVM enabled lets a guest set it: the SVM instructions exit
  const svme = rng.chance(0.2);
  b.field(L.G_EFER, svme ? L.EFER_SVME : 0);
  // STGI and CLGI complete in the core unless an interrupt waits for the VMM
  if (rng.chance(0.5)) b.setup.interruptsWait = true;
  // and while nothing waits the core may make the level switches itself: VMRUN and L2's CPUID #VMEXIT
  const svmSwitch = !b.setup.interruptsWait && svme && rng.chance(0.9) && svmLevelSwitch(b, rng);
  // SVM's CR intercept vectors, as L0 sets them for a guest hypervisor's guest (CR0, CR2, CR3, CR4 reads and writes)
  b.field(L.C_CR_INTERCEPTS, rng.chance(0.1) ? rng.u32() & 0x001d001d : 0);
  b.field(L.G_DR + 7 * 4, rng.chance(0.9) ? 0 : rng.u32());
  b.field(L.G_ACTIVITY, rng.chance(0.05) ? L.ACTIVITY_HLT : L.ACTIVITY_ACTIVE);
  b.field(L.G_INTERRUPTIBILITY, rng.chance(0.1) ? rng.range(1, 2) : 0);
  if (vmxe && rng.chance(0.6)) vmcsShadowing(b, rng);
  return svmSwitch;
}

/**
 * VMCS shadowing as L0 turns it on for a guest hypervisor (src/vmm/nested/vmcs-shadowing.ts), with
 * the shadow VMCS anywhere: a page of RAM (code, data, tables included), the last page, past the
 * end, unaligned, all ones; and the encoding registers VMREAD and VMWRITE name holding real field
 * encodings (the high halves and read-only ones too) often enough to complete in the core.
 */
function vmcsShadowing(b: Builder, rng: Rng): void {
  const ram = b.setup.ram;
  b.field(L.C_SECONDARY, rng.chance(0.9) ? L.CTL2_VMCS_SHADOWING : rng.u32());
  b.field(L.C_VMCS_LINK, rng.weighted([
    [6, () => rng.below(ram >>> 12) << 12], [2, () => DATA & ~0xfff], [1, () => ram - 0x1000], [1, () => ram - rng.range(1, 0xfff)],
    [1, () => ram], [1, () => 0xffffffff], [1, () => interestingU32(rng)],
  ] as const)());
  const encodings = Object.values(VMCS_FIELD);
  for (let r = 0; r < 8; r++) {
    if (r !== 4 && rng.chance(0.3)) b.field(L.G_REGS + r * 4, rng.pick(encodings) + (rng.chance(0.2) ? 1 : 0));
  }
}

const VMCB_PAGE = 0x6000; // free pages between the page tables and DATA (machine-tables.ts)
const HSAVE_PAGE = 0x7000;

/**
 * The core's own level switches open (assembly/vm/svm-switch.ts), VM_HSAVE_PA where L0 keeps it
 * (a free page mostly; any page of RAM, the last, past the end, unaligned, the VMCB's), and rAX
 * mostly naming a VMCB whose guest (L2) can run this case's code, flat or in real mode, with
 * random intercepts (CPUID's mostly, for the core's #VMEXIT), events, virtual interrupts and
 * permission maps, and a few words anywhere in its control area or state broken.
 */
function svmLevelSwitch(b: Builder, rng: Rng): boolean {
  const ram = b.setup.ram;
  const page = () => rng.below(ram >>> 12) << 12;
  b.setup.levelSwitch = {
    hsave: rng.weighted([[14, HSAVE_PAGE], [2, page()], [1, ram - 0x1000], [1, ram], [1, HSAVE_PAGE + rng.range(1, 0xfff)], [1, VMCB_PAGE], [1, 0xfffff000]] as const),
  };
  if (rng.chance(0.2)) return false;
  const vmcb = rng.weighted([[12, VMCB_PAGE], [1, page()], [1, ram - 0x1000], [1, ram], [1, VMCB_PAGE + rng.range(1, 0xfff)]] as const);
  b.field(L.G_REGS, vmcb);
  if (vmcb + 0x1000 > ram) return true;
  const word = (at: number, value: number) => b.dword(vmcb + at, value >>> 0);
  const bit = (p: number, value: number): number => (rng.chance(p) ? value : 0);
  word(B.CR_INTERCEPTS, bit(0.2, rng.u32()));
  word(B.EXCEPTION_INTERCEPTS, rng.weighted([[4, 0], [1, 0xffffffff], [1, rng.u32()]] as const));
  word(B.INTERCEPTS_1, bit(0.8, B.INTERCEPT_CPUID) | bit(0.3, B.INTERCEPT_INTR) | bit(0.3, rng.u32()));
  word(B.INTERCEPTS_2, bit(0.9, B.INTERCEPT_VMRUN) | bit(0.3, rng.u32()));
  word(B.IOPM_BASE, bit(0.5, rng.chance(0.8) ? page() : rng.u32()));
  word(B.MSRPM_BASE, bit(0.5, rng.chance(0.8) ? page() : rng.u32()));
  word(B.TSC_OFFSET, bit(0.3, rng.u32()));
  word(B.TSC_OFFSET + 4, bit(0.1, rng.u32()));
  word(B.GUEST_ASID, rng.chance(0.9) ? 1 : 0);
  word(B.V_INTR, bit(0.1, rng.u32()));
  word(B.V_INTR_VECTOR, rng.below(256));
  word(B.INTERRUPT_SHADOW, bit(0.1, 1));
  word(B.EVENTINJ, bit(0.1, (B.EVENT_VALID | (rng.below(8) << 8) | rng.below(256) | bit(0.3, B.EVENT_ERROR_VALID)) >>> 0));
  const real = rng.chance(0.2);
  for (let sreg = 0; sreg < 4; sreg++) {
    const at = B.SAVE_ES + sreg * B.SEGMENT_STRIDE, code = sreg === L.SR_CS;
    const attributes = real ? (code ? 0x9b : 0x93) : code ? 0xc9b : 0xc93;
    word(at, (real ? (code ? CODE >>> 4 : 0) : code ? SEL.code0 : SEL.data0) | (attributes << 16));
    word(at + B.SEGMENT_LIMIT, real ? 0xffff : 0xffffffff);
    word(at + B.SEGMENT_BASE, real && code ? CODE : 0);
  }
  word(B.SAVE_GDTR + B.SEGMENT_LIMIT, 0x7f);
  word(B.SAVE_GDTR + B.SEGMENT_BASE, GDT);
  word(B.SAVE_IDTR + B.SEGMENT_LIMIT, real ? 0x3ff : 0x7ff);
  word(B.SAVE_IDTR + B.SEGMENT_BASE, real ? 0 : IDT);
  word(B.SAVE_EFER, rng.chance(0.95) ? L.EFER_SVME : rng.u32());
  word(B.SAVE_CR0, real ? 0x10 : 0x11 | bit(0.4, 0x80000000));
  word(B.SAVE_CR3, PD);
  word(B.SAVE_CR4, rng.chance(0.9) ? rng.pick([0, 0x10, 0x80, 0x90]) : rng.u32() & 0x7ff);
  word(B.SAVE_DR6, 0xffff0ff0);
  word(B.SAVE_DR7, 0x400);
  word(B.SAVE_RFLAGS, 2 | bit(0.5, 0x200) | bit(0.05, rng.u32()));
  word(B.SAVE_RIP, (real ? 0 : CODE) + (rng.chance(0.6) ? L2_CPUID : rng.below(0x40)));
  word(B.SAVE_RSP, 0xf000);
  word(B.SAVE_RAX, rng.u32());
  for (let n = rng.chance(0.2) ? rng.range(1, 3) : 0; n > 0; n--) word(rng.chance(0.5) ? rng.below(0x100) & ~3 : B.SAVE_ES + (rng.below(0x250) & ~3), rng.u32());
  return true;
}

// The code of a case whose rAX names a VMCB starts with L1's VMRUN, then a jump over L2's CPUID
// (where its VMCB's RIP mostly points): VMRUN, JMP +2, CPUID.
const VMRUN_PROLOGUE = [0x0f, 0x01, 0xd8, 0xeb, 0x02, 0x0f, 0xa2];
const L2_CPUID = 5;

function entries(rng: Rng): Entry[] {
  const out: Entry[] = [];
  // sometimes enough entries for a loop around an exit to get hot and be compiled
  if (rng.chance(0.1)) {
    for (let n = rng.range(40, 120); n > 0; n--) out.push({ budget: rng.range(50, 3000) });
    return out;
  }
  for (let n = rng.range(1, 6); n > 0; n--) {
    const entry: Entry = { budget: rng.weighted([[5, () => rng.range(1, 400)], [3, () => rng.range(400, 5000)], [1, () => 0]] as const)() };
    if (rng.chance(0.5)) entry.reflect = true;
    if (rng.chance(0.15)) {
      const type = rng.pick([0, 3, 3, 4, 6, 2]);
      const vector = type === 6 ? rng.pick([3, 4]) : type === 2 ? 2 : rng.below(256);
      const error = type === 3 && [8, 10, 11, 12, 13, 14, 17].includes(vector) ? L.INTR_HAS_ERROR : 0;
      entry.inject = [(L.INTR_VALID | (type << 8) | error | vector) >>> 0, rng.chance(0.5) ? 0 : rng.u32(), rng.range(0, 3)];
    }
    out.push(entry);
  }
  return out;
}

/** A new random case; with `parent`, its code is a mutation of the parent's (spliced with `other`). */
export function randomCase(rng: Rng, parent?: FuzzCase, other?: FuzzCase): FuzzCase {
  const b = new Builder(rng.weighted(RAM_SIZES));
  const ram = b.setup.ram;
  const mode = rng.weighted([[10, "flat0"], [4, "flat3"], [3, "segmented"], [1, "code16"], [1, "real"]] as const);
  const protectedMode = mode !== "real";
  const bits32 = mode !== "real" && mode !== "code16";
  const code = parent
    ? mutateProgram(rng, { bits32 }, parent.code, other?.code ?? parent.code)
    : randomProgram(rng, { bits32 }, rng.range(8, 400));
  const tssLimit = 0x67 + rng.below(0x40);
  writeGdt(b, rng, tssLimit);
  writeTss(b, rng, tssLimit - 0x67);
  const vectors = [...Array(32).keys(), 0x80, rng.below(256), rng.below(256)];
  if (protectedMode) writeIdt(b, rng, vectors);
  else writeIvt(b, rng, vectors);
  b.bytes(DATA, rng.bytes(256));
  const paging = protectedMode && rng.chance(0.4);
  const user = mode === "flat3";
  if (paging) writePageTables(b, rng, rng.chance(0.8) ? (user ? 7 : rng.pick([3, 7])) : rng.u32() & 0x1ff, ram);
  const cr0 = (protectedMode ? 0x11 : 0x10) | (paging ? 0x80000000 : 0) | (rng.chance(0.3) ? 0x10000 : 0) | (rng.chance(0.1) ? 0xe : 0);
  const cr3 = rng.chance(0.9) ? PD : interestingU32(rng) & ~0xfff;
  b.field(L.G_CR0, cr0);
  b.field(L.G_CR3, cr3);
  // CR4.VMXE (bit 13) as a VMM offering nested VMX sets it: owned through the CR4 mask (controls()).
  const vmxe = protectedMode && rng.chance(0.2) ? CR4_VMXE : 0;
  b.field(L.G_CR4, (rng.chance(0.5) ? 0 : rng.pick([0x10, 0x80, 0x90, 0x4, rng.u32() & 0x7ff])) | vmxe);
  b.field(L.G_GDTR_BASE, GDT);
  b.field(L.G_GDTR_LIMIT, rng.chance(0.9) ? 0x7f : rng.below(0x80));
  b.field(L.G_IDTR_BASE, protectedMode ? IDT : 0);
  b.field(L.G_IDTR_LIMIT, rng.weighted([[8, protectedMode ? 0x7ff : 0x3ff], [1, 0], [1, rng.below(0x800)]] as const));
  segments(b, rng, mode, code.length);
  b.segment(L.SR_LDTR, 0, 0, 0, L.AR_UNUSABLE);
  b.segment(L.SR_TR, SEL.tss, TSS, tssLimit, AR.tss);
  registers(b, rng, mode, ram);
  const vmrun = controls(b, rng, cr0, cr3, vmxe);
  b.setup.entries = entries(rng);
  return { setup: b.setup, code: vmrun ? Uint8Array.from([...VMRUN_PROLOGUE, ...code]) : code };
}
