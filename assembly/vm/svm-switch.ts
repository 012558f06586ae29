// Switching the guest CPU between an SVM guest hypervisor (L1) and its guest (L2): VMRUN (APM Vol.
// 2 15.5) and #VMEXIT (15.6), as KVM's nested_svm_vmrun/nested_svm_vmexit and Bochs' VMRUN and
// Svm_Vmexit make them. The moves of state between the core's VMCS and a VMCB or the host save
// area, VMRUN's consistency checks and the merge of the intercepts are here, once: the VMM's SVM
// code (src/vmm/svm/svm-run.ts, which says what each step does and why) calls them for every
// switch it makes, and the core makes the commonest two itself (vmrunInCore, cpuidVmexitInCore),
// as for VMX (level-switch.ts switchInCore), so that an L2 CPUID round trip calls the VMM for none
// of its exits. Every VMCB and host-save-area pointer given here is a 4 KiB page inside RAM: the
// VMM checked it, and the in-core paths check it again.
import {
  VMCS_BASE, C_PIN, C_PRIMARY, C_CR_INTERCEPTS, C_CR3_TARGET_COUNT, C_EXCEPTION_BITMAP, C_CR0_MASK, C_CR0_SHADOW,
  C_CR4_MASK, C_CR4_SHADOW, C_CLEAN_FIELDS, CLEAN_SEGMENTS, CTL_HLT_EXITING, CTL_UNCONDITIONAL_IO, CTL_RDTSC_EXITING,
  CTL_INVLPG_EXITING, CTL_CR3_LOAD_EXITING, CTL_CR3_STORE_EXITING, CTL_INTERRUPT_WINDOW, E_INTR_INFO, G_REGS, G_EIP,
  G_EFLAGS, G_CR0, G_CR2, G_CR3, G_CR4, G_DR, G_EFER, G_SEG, SEG_STRIDE, SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_AR, SR_SS, SR_CS,
  G_GDTR_BASE, G_GDTR_LIMIT, G_IDTR_BASE, G_IDTR_LIMIT, G_INTERRUPTIBILITY, G_ACTIVITY, G_TSC_LO, G_CPL, AR_UNUSABLE,
  INTERRUPTIBILITY_STI, EFER_SVME, X_INSTRUCTION_LENGTH,
} from "../vmcs-layout";
import {
  VMCB_SIZE, CR_INTERCEPTS, EXCEPTION_INTERCEPTS, INTERCEPTS_1, INTERCEPTS_2, IOPM_BASE, MSRPM_BASE, TSC_OFFSET, GUEST_ASID,
  V_INTR, INTERRUPT_SHADOW, EXITCODE, EXITINFO1, EXITINFO2, EXITINTINFO, EVENTINJ, NRIP, INTERCEPT_INTR,
  INTERCEPT_CR0_SELECTIVE, INTERCEPT_RDTSC, INTERCEPT_INVLPG, INTERCEPT_CPUID, INTERCEPT_VMRUN, V_IRQ, V_INTR_MASKING,
  EVENT_VALID, EVENT_TYPE_EXCEPTION, EVENT_TYPE_INTR, EVENT_TYPE_NMI, EVENT_TYPE_SOFTWARE_INT, SAVE_ES, SEGMENT_STRIDE,
  SEGMENT_SELECTOR, SEGMENT_ATTRIBUTES, SEGMENT_LIMIT, SEGMENT_BASE, SAVE_GDTR, SAVE_IDTR, SAVE_CPL, SAVE_EFER, SAVE_CR4,
  SAVE_CR3, SAVE_CR0, SAVE_DR7, SAVE_DR6, SAVE_RFLAGS, SAVE_RIP, SAVE_RSP, SAVE_RAX, SAVE_CR2, IOPM_SIZE, MSRPM_SIZE,
  VMEXIT_CPUID,
} from "../vmcb-layout";
import {
  LS_SVM_L2, SVM_L2_NONE, SVM_L2_PLAIN, LS_SVM_HSAVE_PA, LS_SVM_RUN_VMCB, LS_SVM_RUN_HSAVE, LS_SVM_RUN_FLAGS,
  RUN_HOLDS_INTERRUPTS, RUN_VIRTUAL_MASKING, RUN_HOST_INTERRUPTS, LS_SVM_VMRUNS_LO, LS_SVM_CPUID_VMEXITS_LO, LS_SVM_GIF_CLEAR,
} from "../level-switch-layout";
import { CR0_PE, CR0_ET, CR0_TS, CR0_NW, CR0_CD, CR0_PG, CR4_UNSUPPORTED } from "../../src/vmm/control-registers";
import { levelSwitchArea, saveL1Controls, restoreL1Controls, savedL1Control, mergeCrMask, settleL1AfterExit, inRam, count } from "./level-switch";
import { ramBase } from "../memory/physical";
import { ESP, IF } from "../cpu/state";
import { EFLAGS_BITS } from "../cpu/flags";
import { codeWritten } from "../jit/code-pages";

@inline function core(offset: u32): u32 { return load<u32>(VMCS_BASE + offset); }
@inline function setCore(offset: u32, value: u32): void { store<u32>(VMCS_BASE + offset, value); }
// A field of the page at guest-physical `p` (a VMCB or the host save area, in RAM).
@inline function read(p: u32, offset: u32): u32 { return load<u32>(ramBase + p + offset); }
@inline function read16(p: u32, offset: u32): u32 { return load<u16>(ramBase + p + offset); }
@inline function write(p: u32, offset: u32, value: u32): void { store<u32>(ramBase + p + offset, value); }
// A 64-bit field from a 32-bit value: the high word 0.
@inline function write64(p: u32, offset: u32, value: u32): void { store<u64>(ramBase + p + offset, <u64>value); }

const AR_DPL: u32 = 0x60;
const ATTRIBUTE_PRESENT: u32 = 0x80;
// RFLAGS keeps the bits EFLAGS has (EFLAGS_BITS); VM is refused by the checks, and never restored for L1.
const RFLAGS_VM: u32 = 1 << 17;
const RFLAGS_FIXED: u32 = 2;
const DR7_AFTER_VMEXIT: u32 = 0x400;
const CR0_MP: u32 = 1 << 1;
const CR4_BITS: u32 = 0x7ff;
const CR4_RESERVED: u32 = ~CR4_BITS | <u32>CR4_UNSUPPORTED;
// The CR numbers this CPU has, as bits of the intercept vectors (reads 15:0, writes 31:16): CR0, CR2, CR3, CR4.
const CR_VECTOR_BITS: u32 = 0x001d001d;
const CR3_READ: u32 = 1 << 3;
const CR3_WRITE: u32 = 1 << 19;
const VMRUN_LENGTH: u32 = 3;
// The end of the physical address space: 32 bits (CPUID 0x80000008 EAX[7:0]).
const PHYSICAL_LIMIT: u64 = 0x1_0000_0000;
const ATTRIBUTE_L: u32 = 1 << 9;
const ATTRIBUTE_DB: u32 = 1 << 10;
const SR_CS_SAVE: u32 = 1;

// ---- Segments ----------------------------------------------------------------------------------

// SVM attributes (descriptor bits 47:40 and 55:52) as the core's access rights; P = 0 is unusable in protected mode.
function accessRights(attributes: u32, protectedMode: bool): u32 {
  const ar = (attributes & 0xff) | ((attributes & 0xf00) << 4);
  return protectedMode && !(attributes & ATTRIBUTE_PRESENT) ? ar | AR_UNUSABLE : ar;
}

// The core's access rights as SVM attributes (an unusable segment: 0, as Bochs writes it).
function attributes(ar: u32): u32 {
  return ar & AR_UNUSABLE ? 0 : (ar & 0xff) | ((ar >> 4) & 0xf00);
}

// The segment at `at` of the state-save area at `p` into the core's segment register `sreg`.
export function svmLoadSegment(p: u32, at: u32, sreg: u32, protectedMode: bool): void {
  const seg = G_SEG + sreg * SEG_STRIDE;
  setCore(seg + SEG_SEL, read16(p, at + SEGMENT_SELECTOR));
  setCore(seg + SEG_BASE, read(p, at + SEGMENT_BASE));
  setCore(seg + SEG_LIMIT, read(p, at + SEGMENT_LIMIT));
  setCore(seg + SEG_AR, accessRights(read16(p, at + SEGMENT_ATTRIBUTES), protectedMode));
  setCore(C_CLEAN_FIELDS, core(C_CLEAN_FIELDS) & ~CLEAN_SEGMENTS);
}

export function svmSaveSegment(p: u32, at: u32, sreg: u32): void {
  const seg = G_SEG + sreg * SEG_STRIDE;
  store<u16>(ramBase + p + at + SEGMENT_SELECTOR, <u16>core(seg + SEG_SEL));
  store<u16>(ramBase + p + at + SEGMENT_ATTRIBUTES, <u16>attributes(core(seg + SEG_AR)));
  write(p, at + SEGMENT_LIMIT, core(seg + SEG_LIMIT));
  write64(p, at + SEGMENT_BASE, core(seg + SEG_BASE));
}

// The core's CPL is SS's DPL: the VMCB's CPL field goes there (0 in real mode). In protected mode
// CS's RPL becomes the CPL too, whatever selector the VMCB holds: Bochs keeps the CPL in CS.RPL
// (its VMRUN's `CPL = guest.cpl`), and every protected-mode transfer leaves the two equal.
function setCpl(cpl: u32, protectedMode: bool): void {
  const at = G_SEG + <u32>SR_SS * SEG_STRIDE + SEG_AR;
  setCore(at, (core(at) & ~AR_DPL) | (cpl << 5));
  const cs = G_SEG + <u32>SR_CS * SEG_STRIDE + SEG_SEL;
  if (protectedMode) setCore(cs, (core(cs) & ~3) | cpl);
}

// ES, CS, SS, DS, GDTR and IDTR, as VMRUN and #VMEXIT load them, from a state-save area.
function loadSegmentsAndTables(p: u32, protectedMode: bool): void {
  for (let sreg: u32 = 0; sreg < 4; sreg++) svmLoadSegment(p, SAVE_ES + sreg * SEGMENT_STRIDE, sreg, protectedMode);
  setCore(G_GDTR_BASE, read(p, SAVE_GDTR + SEGMENT_BASE));
  setCore(G_GDTR_LIMIT, read16(p, SAVE_GDTR + SEGMENT_LIMIT));
  setCore(G_IDTR_BASE, read(p, SAVE_IDTR + SEGMENT_BASE));
  setCore(G_IDTR_LIMIT, read16(p, SAVE_IDTR + SEGMENT_LIMIT));
}

function saveSegmentsAndTables(p: u32): void {
  for (let sreg: u32 = 0; sreg < 4; sreg++) svmSaveSegment(p, SAVE_ES + sreg * SEGMENT_STRIDE, sreg);
  write64(p, SAVE_GDTR + SEGMENT_BASE, core(G_GDTR_BASE));
  write(p, SAVE_GDTR + SEGMENT_LIMIT, core(G_GDTR_LIMIT) & 0xffff);
  write64(p, SAVE_IDTR + SEGMENT_BASE, core(G_IDTR_BASE));
  write(p, SAVE_IDTR + SEGMENT_LIMIT, core(G_IDTR_LIMIT) & 0xffff);
}

// The state-save words VMRUN and #VMEXIT move for either level (EFER, CR0, CR3, CR4, RFLAGS, RIP,
// RSP, RAX), and those of L2's alone (the host save area has no CR2 or debug registers).
function saveCommonWords(p: u32): void {
  write64(p, SAVE_EFER, core(G_EFER));
  write64(p, SAVE_CR0, core(G_CR0));
  write64(p, SAVE_CR3, core(G_CR3));
  write64(p, SAVE_CR4, core(G_CR4));
  write64(p, SAVE_RFLAGS, core(G_EFLAGS));
  write64(p, SAVE_RIP, core(G_EIP));
  write64(p, SAVE_RSP, core(G_REGS + 4 * ESP));
  write64(p, SAVE_RAX, core(G_REGS));
}

// ---- VMRUN -------------------------------------------------------------------------------------

// L1's host state into the save area at `h`; it resumes after the VMRUN.
export function svmSaveHostState(h: u32): void {
  saveSegmentsAndTables(h);
  saveCommonWords(h);
  write64(h, SAVE_RIP, core(G_EIP) + VMRUN_LENGTH);
  codeWritten(h, VMCB_SIZE); // code L1 keeps there is forgotten, as after any write
}

// A permission map's base (bits 11:0 ignored); the map must end below the maximum physical address.
export function permissionMapBase(v: u32, field: u32): u32 { return read(v, field) & ~0xfff; }

function mapFits(v: u32, field: u32, size: u32): bool {
  return read(v, field + 4) == 0 && <u64>permissionMapBase(v, field) + size <= PHYSICAL_LIMIT;
}

// Whether an EVENTINJ value (its low word) names an event VMRUN can inject (APM 15.20).
function eventInjectionValid(event: u32): bool {
  if (!(event & EVENT_VALID)) return true;
  const type = (event >> 8) & 7, vector = event & 0xff;
  if (type == EVENT_TYPE_INTR || type == EVENT_TYPE_NMI || type == EVENT_TYPE_SOFTWARE_INT) return true;
  return type == EVENT_TYPE_EXCEPTION && vector != 2 && vector <= 31;
}

// VMRUN's consistency checks (APM 15.5.1; 15.20 for EVENTINJ) on the VMCB at `v`, before anything
// of L2's is loaded: 0 when L2 may run, else the number of the first check that fails, which is
// #VMEXIT with VMEXIT_INVALID (KVM's nested_vmcb_check_controls/_save; Bochs'
// SvmEnterLoadCheckControls/GuestState). For a 32-bit CPU whose EFER has only SVME and whose
// physical addresses have 32 bits (CPUID 0x80000008). Checks 15 and 17 are this CPU's, not the
// APM's: the core runs neither paged real mode (Bochs does) nor virtual-8086 mode.
export function svmVmrunCheck(v: u32): u32 {
  if (!(read(v, INTERCEPTS_2) & INTERCEPT_VMRUN)) return 1;
  if (read(v, GUEST_ASID) == 0) return 2;
  if (!mapFits(v, IOPM_BASE, IOPM_SIZE)) return 3; // the I/O permission map reaches past the physical address space
  if (!mapFits(v, MSRPM_BASE, MSRPM_SIZE)) return 4; // the MSR one
  const efer = read(v, SAVE_EFER);
  if (read(v, SAVE_EFER + 4) != 0 || (efer & ~EFER_SVME) != 0) return 5; // EFER's reserved bits
  if (!(efer & EFER_SVME)) return 6;
  // CR0, CR3, CR4, DR6, DR7: bits 63:32 are reserved
  if (read(v, SAVE_CR0 + 4) != 0) return 7;
  if (read(v, SAVE_CR3 + 4) != 0) return 8;
  if (read(v, SAVE_CR4 + 4) != 0) return 9;
  if (read(v, SAVE_DR6 + 4) != 0) return 10;
  if (read(v, SAVE_DR7 + 4) != 0) return 11;
  const cr0 = read(v, SAVE_CR0);
  if ((cr0 & CR0_NW) != 0 && (cr0 & CR0_CD) == 0) return 12;
  if ((cr0 & CR0_PG) != 0 && (cr0 & CR0_PE) == 0) return 13; // paged real mode
  if ((read(v, SAVE_CR4) & CR4_RESERVED) != 0) return 14;
  const cs = read16(v, SAVE_ES + SR_CS_SAVE * SEGMENT_STRIDE + SEGMENT_ATTRIBUTES);
  if ((cs & ATTRIBUTE_L) != 0 && (cs & ATTRIBUTE_DB) != 0) return 15;
  if ((read(v, SAVE_RFLAGS) & RFLAGS_VM) != 0) return 16; // virtual-8086 mode
  if (!eventInjectionValid(read(v, EVENTINJ))) return 17;
  return 0;
}

// L2's state from the VMCB at `v` (the checks passed).
export function svmLoadL2State(v: u32): void {
  const cr0 = read(v, SAVE_CR0) | CR0_ET;
  const protectedMode = (cr0 & CR0_PE) != 0;
  loadSegmentsAndTables(v, protectedMode);
  setCpl(protectedMode ? load<u8>(ramBase + v + SAVE_CPL) & 3 : 0, protectedMode);
  setCore(G_EFER, read(v, SAVE_EFER));
  setCore(G_CR0, cr0);
  setCore(G_CR2, read(v, SAVE_CR2));
  setCore(G_CR3, read(v, SAVE_CR3));
  setCore(G_CR4, read(v, SAVE_CR4));
  setCore(G_DR + 6 * 4, read(v, SAVE_DR6));
  setCore(G_DR + 7 * 4, read(v, SAVE_DR7));
  setCore(G_EFLAGS, (read(v, SAVE_RFLAGS) & EFLAGS_BITS) | RFLAGS_FIXED);
  setCore(G_EIP, read(v, SAVE_RIP));
  setCore(G_REGS + 4 * ESP, read(v, SAVE_RSP));
  setCore(G_REGS, read(v, SAVE_RAX));
  setCore(G_INTERRUPTIBILITY, read(v, INTERRUPT_SHADOW) & 1 ? INTERRUPTIBILITY_STI : 0);
  setCore(G_ACTIVITY, 0);
  setCore(C_CLEAN_FIELDS, 0);
}

// The controls L2 runs under: L0's for L1 (set aside) merged with L1's intercepts in the VMCB at
// `v` (src/vmm/svm/svm-run.ts says which), at VMRUN and again whenever L0 changes its own while L2
// runs; `entry`: at VMRUN, L1's TSC offset on top of L0's too.
export function svmMergeControls(v: u32, entry: bool): void {
  const intercepts = read(v, INTERCEPTS_1);
  const crVectors = read(v, CR_INTERCEPTS) & CR_VECTOR_BITS;
  setCore(C_PIN, 0);
  setCore(
    C_PRIMARY,
    CTL_HLT_EXITING | CTL_UNCONDITIONAL_IO | (intercepts & INTERCEPT_RDTSC ? CTL_RDTSC_EXITING : 0) | (intercepts & INTERCEPT_INVLPG ? CTL_INVLPG_EXITING : 0) |
      (crVectors & CR3_WRITE ? CTL_CR3_LOAD_EXITING : 0) | (crVectors & CR3_READ ? CTL_CR3_STORE_EXITING : 0),
  );
  setCore(C_CR_INTERCEPTS, crVectors);
  setCore(C_CR3_TARGET_COUNT, 0);
  setCore(C_EXCEPTION_BITMAP, savedL1Control(C_EXCEPTION_BITMAP) | read(v, EXCEPTION_INTERCEPTS));
  const selective = intercepts & INTERCEPT_CR0_SELECTIVE ? ~(CR0_TS | CR0_MP) : 0;
  mergeCrMask(C_CR0_MASK, C_CR0_SHADOW, G_CR0, savedL1Control(C_CR0_MASK), selective, core(G_CR0));
  mergeCrMask(C_CR4_MASK, C_CR4_SHADOW, G_CR4, savedL1Control(C_CR4_MASK), 0, 0);
  setCore(C_CLEAN_FIELDS, 0);
  if (entry) store<u64>(VMCS_BASE + G_TSC_LO, load<u64>(VMCS_BASE + G_TSC_LO) + load<u64>(ramBase + v + TSC_OFFSET));
}

// ---- #VMEXIT -----------------------------------------------------------------------------------

// The exit's code and information into the VMCB at `v`, EVENTINJ consumed (its valid bit cleared);
// nRIP only when `saveNextRip` (not for VMEXIT_INVALID).
export function svmWriteExit(v: u32, code: i32, info1: u32, info2: u32, intInfo: u32, intError: u32, nextRip: u32, saveNextRip: bool): void {
  store<i64>(ramBase + v + EXITCODE, <i64>code);
  write64(v, EXITINFO1, info1);
  write64(v, EXITINFO2, info2);
  write(v, EXITINTINFO, intInfo);
  write(v, EXITINTINFO + 4, intError);
  write(v, EVENTINJ, read(v, EVENTINJ) & ~EVENT_VALID);
  if (saveNextRip) write64(v, NRIP, nextRip);
}

// L2's state into the VMCB at `v`, with its CPL and interrupt shadow.
export function svmSaveL2State(v: u32): void {
  saveSegmentsAndTables(v);
  saveCommonWords(v);
  write64(v, SAVE_CR2, core(G_CR2));
  write64(v, SAVE_DR6, core(G_DR + 6 * 4));
  write64(v, SAVE_DR7, core(G_DR + 7 * 4));
  store<u8>(ramBase + v + SAVE_CPL, <u8>core(G_CPL));
  write(v, INTERRUPT_SHADOW, (read(v, INTERRUPT_SHADOW) & ~1) | (core(G_INTERRUPTIBILITY) & 3 ? 1 : 0));
}

// L1's host state back from the save area at `h`, which L1 or L2 may have written meanwhile: only
// values the CPU can hold are taken (PE set, CR4 and EFER bits it has, no RFLAGS.VM), then DR7
// 400h, CPL 0, nothing pending, as the APM says. L0 keeps the read shadows of the CR bits it owns
// equal to L1's registers, which come from the host state now.
export function svmLoadHostState(h: u32): void {
  loadSegmentsAndTables(h, true);
  setCpl(0, true);
  setCore(G_EFER, read(h, SAVE_EFER) & EFER_SVME);
  setCore(G_CR0, read(h, SAVE_CR0) | CR0_PE | CR0_ET);
  setCore(G_CR3, read(h, SAVE_CR3));
  setCore(G_CR4, read(h, SAVE_CR4) & CR4_BITS & ~CR4_UNSUPPORTED);
  setCore(G_EFLAGS, (read(h, SAVE_RFLAGS) & EFLAGS_BITS & ~RFLAGS_VM) | RFLAGS_FIXED);
  setCore(G_EIP, read(h, SAVE_RIP));
  setCore(G_REGS + 4 * ESP, read(h, SAVE_RSP));
  setCore(G_REGS, read(h, SAVE_RAX));
  setCore(G_DR + 7 * 4, DR7_AFTER_VMEXIT);
  settleL1AfterExit();
}

// ---- The switches the core makes itself ----------------------------------------------------------

@inline function word(offset: u32): u32 { return load<u32>(levelSwitchArea() + offset); }
@inline function setWord(offset: u32, value: u32): void { store<u32>(levelSwitchArea() + offset, value); }

// L1's VMRUN (its instruction checks passed) as the VMM's handleVmrun() makes it, when there is
// nothing in it for the VMM: rAX and VM_HSAVE_PA name two pages in RAM (else #GP; the VMM keeps
// VM_HSAVE_PA aligned, the core does not count on it), the checks pass
// (else VMEXIT_INVALID), and L2 gets no event (EVENTINJ) and no virtual interrupt (V_IRQ). VMRUN
// sets GIF; with no interrupt waiting (the caller's condition) the VMM's delivery would do nothing.
export function vmrunInCore(): bool {
  if (word(LS_SVM_L2) != SVM_L2_NONE) return false;
  const v = core(G_REGS), h = word(LS_SVM_HSAVE_PA);
  // (A save area that is the VMCB itself is the VMM's: it checks the VMCB after saving L1's state over it.)
  if (((v | h) & 0xfff) != 0 || !inRam(v) || !inRam(h) || v == h || svmVmrunCheck(v) != 0) return false;
  if ((read(v, EVENTINJ) & EVENT_VALID) != 0 || (read(v, V_INTR) & V_IRQ) != 0) return false;
  const intercepts = read(v, INTERCEPTS_1), control = read(v, V_INTR);
  const flags = (intercepts & INTERCEPT_INTR ? RUN_HOLDS_INTERRUPTS : 0) | (control & V_INTR_MASKING ? RUN_VIRTUAL_MASKING : 0) |
    (core(G_EFLAGS) & IF ? RUN_HOST_INTERRUPTS : 0);
  svmSaveHostState(h);
  saveL1Controls();
  svmLoadL2State(v);
  svmMergeControls(v, true);
  setCore(E_INTR_INFO, 0);
  setWord(LS_SVM_RUN_VMCB, v);
  setWord(LS_SVM_RUN_HSAVE, h);
  setWord(LS_SVM_RUN_FLAGS, flags);
  setWord(LS_SVM_L2, SVM_L2_PLAIN);
  setWord(LS_SVM_GIF_CLEAR, 0);
  count(LS_SVM_VMRUNS_LO);
  return true;
}

// L2's CPUID, when L1 intercepts it, as the VMM's #VMEXIT (72h; EXITINFO 0, nRIP the next
// instruction): only for a run that has nothing but what the area says (SVM_L2_PLAIN). GIF is clear
// after it; with no interrupt waiting the VMM's delivery would only turn window exiting off.
export function cpuidVmexitInCore(): bool {
  if (word(LS_SVM_L2) != SVM_L2_PLAIN) return false;
  const v = word(LS_SVM_RUN_VMCB), h = word(LS_SVM_RUN_HSAVE);
  if (!inRam(v) || !inRam(h) || !(read(v, INTERCEPTS_1) & INTERCEPT_CPUID)) return false;
  svmWriteExit(v, VMEXIT_CPUID, 0, 0, 0, 0, core(G_EIP) + core(X_INSTRUCTION_LENGTH), true);
  svmSaveL2State(v);
  write(v, V_INTR, read(v, V_INTR) & ~V_IRQ); // V_IRQ written back clear: a plain run has no virtual interrupt
  codeWritten(v, VMCB_SIZE);
  setWord(LS_SVM_L2, SVM_L2_NONE);
  restoreL1Controls();
  svmLoadHostState(h);
  setWord(LS_SVM_GIF_CLEAR, 1);
  setCore(C_PRIMARY, core(C_PRIMARY) & ~CTL_INTERRUPT_WINDOW);
  count(LS_SVM_CPUID_VMEXITS_LO);
  return true;
}
