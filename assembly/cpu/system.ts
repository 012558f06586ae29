// System instructions: control and debug registers (with the VMX CR0/CR4 guest/host masks and the
// CR3-target list), descriptor-table registers, and the instructions that always or optionally
// exit to the VMM (CPUID, RDTSC, RDMSR/WRMSR, HLT, INVLPG, VMCALL).
import {
  VMCS_BASE, G_CR0, G_CR2, G_CR3, G_CR4, G_DR, G_GDTR_BASE, G_GDTR_LIMIT, G_IDTR_BASE, G_IDTR_LIMIT,
  G_TSC_LO, G_ACTIVITY, ACTIVITY_HLT, C_CR0_MASK, C_CR0_SHADOW, C_CR4_MASK, C_CR4_SHADOW,
  C_CR3_TARGET_COUNT, C_CR3_TARGETS, C_CR_INTERCEPTS, CR_WRITE_INTERCEPTS,
  CTL_CR3_LOAD_EXITING, CTL_CR3_STORE_EXITING, CTL_HLT_EXITING, CTL_INVLPG_EXITING, CTL_RDTSC_EXITING,
  EXIT_CPUID, EXIT_HLT, EXIT_INVLPG, EXIT_RDTSC, EXIT_VMCALL, EXIT_CR_ACCESS, EXIT_RDMSR, EXIT_WRMSR,
  STAT_CR3_TARGET_HITS,
} from "../vmcs-layout";
import {
  cpl, raise, EXC_GP, EXC_UD, r32, w32, EAX, EDX, cr0, cr4, CR0_PE, CR0_PG, CR0_TS, CR0_ET, CR4_VMXE,
} from "./state";
import { controls, vmexit, yieldToVmm } from "./vmexit";
import { retiredBeforeThisInstruction } from "./retirement";
import { cpuidInCore } from "../vm/exits-in-core";
import { followPagingControls, pagingEnabled } from "../memory/linear";
import { switchAddressSpace, invalidatePage } from "../mmu/mmu";
import { invalidateFetchWindow } from "../mmu/fetch-window";

const CR_ACCESS_MOV_TO: u32 = 0;
const CR_ACCESS_MOV_FROM: u32 = 1;
const CR_ACCESS_CLTS: u32 = 2;
const CR_ACCESS_LMSW: u32 = 3;

@inline export function requireCpl0(): bool {
  if (cpl != 0) { raise(EXC_GP, 0); return false; }
  return true;
}

@inline function crExit(cr: u32, access: u32, gpr: u32, lmswData: u32): void {
  vmexit(EXIT_CR_ACCESS, cr | (access << 4) | (gpr << 8) | (lmswData << 16));
}

// SVM's CR intercepts (C_CR_INTERCEPTS): the access exits whatever it reads or writes. The APM
// checks them after the instruction's #UD and #GP (Vol. 2 15.9).
@inline function crIntercepted(bit: u32): bool {
  return ((load<u32>(VMCS_BASE + C_CR_INTERCEPTS) >>> bit) & 1) != 0;
}

// A write to CR0/CR4 exits when it would change a host-owned bit (set in the mask) away from the
// read shadow (SDM 25.1.3).
function ownedBitsChange(maskField: u32, shadowField: u32, value: u32): bool {
  const mask = load<u32>(VMCS_BASE + maskField);
  return ((value ^ load<u32>(VMCS_BASE + shadowField)) & mask) != 0;
}

// The guest reads host-owned bits from the read shadow.
function shadowed(real: u32, maskField: u32, shadowField: u32): u32 {
  const mask = load<u32>(VMCS_BASE + maskField);
  return (real & ~mask) | (load<u32>(VMCS_BASE + shadowField) & mask);
}

export function readCr0ForGuest(): u32 { return shadowed(cr0(), C_CR0_MASK, C_CR0_SHADOW); }

// A write that does not exit leaves the owned bits as they are (SDM 26.3 "MOV to CR0/CR4"): they
// match the read shadow, but the register itself may hold other values there (a guest
// hypervisor's guest, whose hypervisor keeps a bit in the register unlike its shadow).
function keepOwned(maskField: u32, real: u32, value: u32): u32 {
  const mask = load<u32>(VMCS_BASE + maskField);
  return (value & ~mask) | (real & mask);
}

export function writeCr0(v: u32, gpr: u32): void {
  if (ownedBitsChange(C_CR0_MASK, C_CR0_SHADOW, v)) { crExit(0, CR_ACCESS_MOV_TO, gpr, 0); return; }
  if ((v & CR0_PG) && !(v & CR0_PE)) { raise(EXC_GP, 0); return; }
  store<u32>(VMCS_BASE + G_CR0, keepOwned(C_CR0_MASK, cr0(), v) | CR0_ET);
  followPagingControls();
  invalidateFetchWindow();
}

// CR4.VMXE (bit 13) exists only when the VMM owns it through the guest/host mask and so decides
// every change (nested VMX, src/vmm/nested/); otherwise it is reserved like the bits above 10.
function writeCr4(v: u32, gpr: u32): void {
  const reserved = ~(0x7ff | (load<u32>(VMCS_BASE + C_CR4_MASK) & CR4_VMXE));
  if (v & reserved) { raise(EXC_GP, 0); return; }
  if (ownedBitsChange(C_CR4_MASK, C_CR4_SHADOW, v)) { crExit(4, CR_ACCESS_MOV_TO, gpr, 0); return; }
  store<u32>(VMCS_BASE + G_CR4, keepOwned(C_CR4_MASK, cr4(), v));
  followPagingControls();
}

function cr3IsTarget(v: u32): bool {
  const count = load<u32>(VMCS_BASE + C_CR3_TARGET_COUNT);
  for (let i: u32 = 0; i < count && i < 4; i++) {
    if (load<u32>(VMCS_BASE + C_CR3_TARGETS + (i << 2)) == v) return true;
  }
  return false;
}

// A MOV to CR3 that completes inside the core: with CR3-load exiting off, or on a CR3-target hit
// (the shadow is ready and the switch happens here, with no exit). False when it must exit.
// Compiled blocks call it too (assembly/jit/helpers.ts jitLoadCr3).
export function loadCr3InCore(v: u32): bool {
  if (controls() & CTL_CR3_LOAD_EXITING) {
    if (!cr3IsTarget(v)) return false;
    store<u32>(VMCS_BASE + STAT_CR3_TARGET_HITS, load<u32>(VMCS_BASE + STAT_CR3_TARGET_HITS) + 1);
  }
  store<u32>(VMCS_BASE + G_CR3, v);
  if (pagingEnabled) switchAddressSpace();
  invalidateFetchWindow();
  return true;
}

function writeCr3(v: u32, gpr: u32): void {
  if (!loadCr3InCore(v)) crExit(3, CR_ACCESS_MOV_TO, gpr, 0);
}

// MOV CRn, r32 (0F 22) and MOV r32, CRn (0F 20).
export function movToCr(cr: u32, gpr: u32): void {
  if (!requireCpl0()) return;
  if (cr == 1 || cr > 4) { raise(EXC_UD); return; }
  if (crIntercepted(CR_WRITE_INTERCEPTS + cr)) { crExit(cr, CR_ACCESS_MOV_TO, gpr, 0); return; }
  const v = r32(gpr);
  if (cr == 0) writeCr0(v, gpr);
  else if (cr == 2) store<u32>(VMCS_BASE + G_CR2, v);
  else if (cr == 3) writeCr3(v, gpr);
  else writeCr4(v, gpr);
}

export function movFromCr(cr: u32, gpr: u32): void {
  if (!requireCpl0()) return;
  if (cr == 1 || cr > 4) { raise(EXC_UD); return; }
  if (crIntercepted(cr)) { crExit(cr, CR_ACCESS_MOV_FROM, gpr, 0); return; }
  let v: u32;
  if (cr == 0) v = readCr0ForGuest();
  else if (cr == 2) v = load<u32>(VMCS_BASE + G_CR2);
  else if (cr == 3) {
    if (controls() & CTL_CR3_STORE_EXITING) { crExit(3, CR_ACCESS_MOV_FROM, gpr, 0); return; }
    v = load<u32>(VMCS_BASE + G_CR3);
  }
  else v = shadowed(cr4(), C_CR4_MASK, C_CR4_SHADOW);
  w32(gpr, v);
}

// CLTS clears CR0.TS; LMSW loads the low four bits of CR0 (and cannot clear PE).
export function clts(): void {
  if (!requireCpl0()) return;
  if (crIntercepted(CR_WRITE_INTERCEPTS) || load<u32>(VMCS_BASE + C_CR0_MASK) & CR0_TS && (load<u32>(VMCS_BASE + C_CR0_SHADOW) & CR0_TS)) {
    crExit(0, CR_ACCESS_CLTS, 0, 0);
    return;
  }
  store<u32>(VMCS_BASE + G_CR0, keepOwned(C_CR0_MASK, cr0(), cr0() & ~CR0_TS));
}

export function lmsw(v: u32, fromMemory: bool): void {
  if (!requireCpl0()) return;
  const next = (cr0() & ~0xe) | (v & 0xf) | (cr0() & CR0_PE);
  if (crIntercepted(CR_WRITE_INTERCEPTS) || ownedBitsChange(C_CR0_MASK, C_CR0_SHADOW, (readCr0ForGuest() & ~0xf) | (next & 0xf))) {
    // qualification bit 6: the LMSW operand was in memory
    crExit(fromMemory ? 1 << 6 : 0, CR_ACCESS_LMSW, 0, v & 0xffff);
    return;
  }
  store<u32>(VMCS_BASE + G_CR0, keepOwned(C_CR0_MASK, cr0(), next));
}

export function movToDr(dr: u32, gpr: u32): void {
  if (!requireCpl0()) return;
  if (dr == 4 || dr == 5) dr += 2; // aliases of DR6/DR7 with CR4.DE clear
  store<u32>(VMCS_BASE + G_DR + (dr << 2), r32(gpr));
}
export function movFromDr(dr: u32, gpr: u32): void {
  if (!requireCpl0()) return;
  if (dr == 4 || dr == 5) dr += 2;
  w32(gpr, load<u32>(VMCS_BASE + G_DR + (dr << 2)));
}

// ---- Descriptor-table registers ----------------------------------------------------------------
export function loadDescriptorTable(idt: bool, limit: u32, base: u32): void {
  store<u32>(VMCS_BASE + (idt ? G_IDTR_LIMIT : G_GDTR_LIMIT), limit & 0xffff);
  store<u32>(VMCS_BASE + (idt ? G_IDTR_BASE : G_GDTR_BASE), base);
}
export function tableBase(idt: bool): u32 { return load<u32>(VMCS_BASE + (idt ? G_IDTR_BASE : G_GDTR_BASE)); }
export function tableLimit(idt: bool): u32 { return load<u32>(VMCS_BASE + (idt ? G_IDTR_LIMIT : G_GDTR_LIMIT)); }

// ---- Instructions that exit --------------------------------------------------------------------
export function cpuid(): void { if (!cpuidInCore()) vmexit(EXIT_CPUID, 0); }
export function vmcall(): void { vmexit(EXIT_VMCALL, 0); }

export function rdmsr(): void { if (requireCpl0()) vmexit(EXIT_RDMSR, 0); }
export function wrmsr(): void { if (requireCpl0()) vmexit(EXIT_WRMSR, 0); }

export function rdtsc(): void {
  if ((cr4() & 4) && cpl != 0) { raise(EXC_GP, 0); return; } // CR4.TSD
  if (controls() & CTL_RDTSC_EXITING) { vmexit(EXIT_RDTSC, 0); return; }
  // virtual time: the TSC counts retired instructions, plus the VMM's offset
  const tsc = retiredBeforeThisInstruction() + load<u64>(VMCS_BASE + G_TSC_LO);
  w32(EAX, <u32>tsc);
  w32(EDX, <u32>(tsc >> 32));
}

export function hlt(): void {
  if (!requireCpl0()) return;
  if (controls() & CTL_HLT_EXITING) { vmexit(EXIT_HLT, 0); return; }
  // Without HLT exiting the processor waits for an interrupt: hand the time back to the VMM.
  store<u32>(VMCS_BASE + G_ACTIVITY, ACTIVITY_HLT);
  yieldToVmm();
}

export function invlpg(linear: u32): void {
  if (!requireCpl0()) return;
  if (controls() & CTL_INVLPG_EXITING) { vmexit(EXIT_INVLPG, linear); return; }
  invalidatePage(linear);
}
