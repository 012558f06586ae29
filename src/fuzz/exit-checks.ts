// What must hold at every VM exit, whatever the guest did: the exit reason is one the core can
// produce and the VMCS controls asked for, its qualification and exit information have the
// documented shape (assembly/vmcs-layout.ts; docs/design.md, "Exits"), and the saved guest state is
// architecturally possible: EFLAGS bit 1 set and the reserved bits clear, CPL equal to SS.DPL and
// CS.RPL in protected mode (0 while CS is still real mode's, right after PE is set), EIP within the
// CS limit when the exit names an instruction.
import { LS_INTERRUPTS_WAIT, LS_SVM_L2, LS_SVM_RUN_HSAVE, LS_SVM_RUN_VMCB, SVM_L2_NONE, SVM_L2_PLAIN } from "../../assembly/level-switch-layout.js";
import * as L from "../../assembly/vmcs-layout.js";
import type { BareCore } from "./core-module.js";

const EFLAGS_RESERVED = 0xffc08028; // bits 3, 5, 15 and 22-31
const CR0_PE = 1;
// The VMX instructions' exits (19-27); VMREAD and VMWRITE may have a register operand.
const VMX_EXITS = [L.EXIT_VMCLEAR, L.EXIT_VMLAUNCH, L.EXIT_VMPTRLD, L.EXIT_VMPTRST, L.EXIT_VMREAD, L.EXIT_VMRESUME, L.EXIT_VMWRITE, L.EXIT_VMXOFF, L.EXIT_VMXON];
const VMX_NO_OPERAND = new Set([L.EXIT_VMLAUNCH, L.EXIT_VMRESUME, L.EXIT_VMXOFF]);
const CR4_VMXE = 1 << 13;

// Exit reasons that name the instruction at guest EIP, which the VMM skips by its length.
export const INSTRUCTION_EXITS = new Set([
  L.EXIT_CPUID, L.EXIT_HLT, L.EXIT_INVLPG, L.EXIT_RDTSC, L.EXIT_VMCALL, L.EXIT_CR_ACCESS, L.EXIT_IO,
  L.EXIT_RDMSR, L.EXIT_WRMSR, L.EXIT_CLI, L.EXIT_STI, L.EXIT_PUSHF, L.EXIT_POPF, L.EXIT_IRET,
  ...VMX_EXITS,
]);

const hex = (n: number): string => "0x" + (n >>> 0).toString(16);

/**
 * The event being delivered when the exit happened (X_VECTORING_INFO): only at an exit that can
 * happen during delivery, an exception's (not a #DF's, which is no exit during delivery) or a
 * write trap's on the frame; well formed (valid, a type an event has), its error code only if it
 * pushed one.
 */
function checkVectoring(v: (offset: number) => number, reason: number): string[] {
  const vectoring = v(L.X_VECTORING_INFO);
  const error = v(L.X_VECTORING_ERROR);
  const duringDelivery = reason === L.EXIT_WRITE_TRAP || (reason === L.EXIT_EXCEPTION && (v(L.X_INTR_INFO) & 0xff) !== 8);
  if (vectoring === 0 || !duringDelivery) return vectoring === 0 && error === 0 ? [] : [`vectoring information ${hex(vectoring)} (error code ${hex(error)})`];
  const type = (vectoring >>> 8) & 7;
  const wellFormed = (vectoring & 0x7ffff000) === 0 && (vectoring >>> 31) === 1 && type !== 1 && type !== 7 && ((vectoring & L.INTR_HAS_ERROR) !== 0 || error === 0);
  return wellFormed ? [] : [`vectoring information ${hex(vectoring)} (error code ${hex(error)})`];
}

const levelWord = (core: BareCore, offset: number): number => new DataView(core.bytes.buffer).getUint32(core.exports.levelSwitchArea() + offset, true);

/**
 * While an SVM L2 the core entered runs (assembly/vm/svm-switch.ts vmrunInCore), the record it
 * left: its VMCB and L1's host save area two distinct pages in RAM, which is all it will write.
 */
function checkSvmRun(core: BareCore): string[] {
  if (levelWord(core, LS_SVM_L2) === SVM_L2_NONE) return [];
  const vmcb = levelWord(core, LS_SVM_RUN_VMCB), hsave = levelWord(core, LS_SVM_RUN_HSAVE), ram = core.exports.ramSize() >>> 0;
  const page = (p: number) => (p & 0xfff) === 0 && p + 0x1000 <= ram;
  if (levelWord(core, LS_SVM_L2) !== SVM_L2_PLAIN) return ["an SVM L2 the VMM did not enter runs"];
  return page(vmcb) && page(hsave) && vmcb !== hsave ? [] : [`an SVM L2 runs with its VMCB at ${hex(vmcb)} and the host save area at ${hex(hsave)}`];
}

/** Problems with the exit `reason` the core just returned; empty when it is well formed. */
export function checkExit(core: BareCore, reason: number): string[] {
  const v = (offset: number): number => core.vmcs(offset);
  const svmRun = checkSvmRun(core);
  if (svmRun.length > 0) return svmRun;
  const qual = v(L.X_QUALIFICATION);
  const primary = v(L.C_PRIMARY);
  const out: string[] = [];
  const need = (ok: boolean, what: string): void => { if (!ok) out.push(`exit ${reason} (qualification ${hex(qual)}): ${what}`); };
  need(v(L.X_REASON) === reason, `X_REASON holds ${v(L.X_REASON)}`);
  const length = v(L.X_INSTRUCTION_LENGTH);
  if (INSTRUCTION_EXITS.has(reason)) need(length >= 1 && length <= 15, `instruction length ${length}`);
  out.push(...checkVectoring(v, reason).map((m) => `exit ${reason}: ${m}`));
  switch (reason) {
    case L.EXIT_EXCEPTION: {
      const info = v(L.X_INTR_INFO);
      const vector = info & 0xff;
      const type = (info >>> 8) & 7;
      const hasError = vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
      need((info & 0x7ffff000) === 0 && (info >>> 31) === 1, `interruption information ${hex(info)}`);
      need(((v(L.C_EXCEPTION_BITMAP) >>> vector) & 1) === 1, `vector ${vector} is not in the exception bitmap`);
      need(type === 3 || ((vector === 3 || vector === 4) && type === 6), `event type ${type} for vector ${vector}`);
      need(((info >>> 11) & 1) === (type === 3 && hasError ? 1 : 0), `error-code bit for vector ${vector}`);
      // A #PF's qualification is its linear address, which CR2 does not get (the exit leaves CR2 alone).
      if (vector !== 14) need(qual === 0, "non-zero qualification");
      break;
    }
    case L.EXIT_TRIPLE_FAULT: case L.EXIT_CPUID: case L.EXIT_VMCALL: case L.EXIT_PREEMPTION_TIMER:
      need(qual === 0, "non-zero qualification");
      break;
    case L.EXIT_INTERRUPT_WINDOW:
      need(qual === 0 && (primary & L.CTL_INTERRUPT_WINDOW) !== 0, "interrupt-window exit without interrupt-window exiting");
      need((v(L.G_EFLAGS) & 0x200) !== 0 && (v(L.G_INTERRUPTIBILITY) & 3) === 0, "interrupt-window exit while the guest cannot take an interrupt");
      break;
    case L.EXIT_HLT: need(qual === 0 && (primary & L.CTL_HLT_EXITING) !== 0, "HLT exit without HLT exiting"); break;
    case L.EXIT_RDTSC: need(qual === 0 && (primary & L.CTL_RDTSC_EXITING) !== 0, "RDTSC exit without RDTSC exiting"); break;
    case L.EXIT_INVLPG: need((primary & L.CTL_INVLPG_EXITING) !== 0, "INVLPG exit without INVLPG exiting"); break;
    case L.EXIT_RDMSR: case L.EXIT_WRMSR: need(qual === 0 && v(L.G_CPL) === 0, "MSR exit at CPL > 0"); break;
    case L.EXIT_CR_ACCESS: out.push(...checkCrAccess(v, qual, primary).map((m) => `exit 28 (${hex(qual)}): ${m}`)); break;
    case L.EXIT_IO: out.push(...checkIo(core, qual, primary).map((m) => `exit 30 (${hex(qual)}): ${m}`)); break;
    case L.EXIT_WRITE_TRAP: {
      const base = v(L.C_WRITE_TRAP_BASE);
      const at = v(L.X_GUEST_PHYSICAL);
      need(qual === 2 && v(L.C_WRITE_TRAP_SIZE) !== 0, "write-trap exit without a trapped range");
      need(((at - base) >>> 0) < v(L.C_WRITE_TRAP_SIZE) || ((base - at) >>> 0) < 4, `guest-physical ${hex(at)} outside the trapped range`);
      break;
    }
    case L.EXIT_VMCLEAR: case L.EXIT_VMLAUNCH: case L.EXIT_VMPTRLD: case L.EXIT_VMPTRST: case L.EXIT_VMREAD:
    case L.EXIT_VMRESUME: case L.EXIT_VMWRITE: case L.EXIT_VMXOFF: case L.EXIT_VMXON:
      out.push(...checkVmxExit(v, reason).map((m) => `exit ${reason}: ${m}`));
      break;
    case L.EXIT_SVM_VMRUN: case L.EXIT_SVM_VMMCALL: case L.EXIT_SVM_VMLOAD: case L.EXIT_SVM_VMSAVE:
    case L.EXIT_SVM_STGI: case L.EXIT_SVM_CLGI: case L.EXIT_SVM_INVLPGA:
      out.push(...checkSvmExit(v, reason, levelWord(core, LS_INTERRUPTS_WAIT) !== 0 || levelWord(core, LS_SVM_L2) !== SVM_L2_NONE).map((m) => `exit ${hex(reason)}: ${m}`));
      break;
    case L.EXIT_CLI: case L.EXIT_STI: case L.EXIT_PUSHF: case L.EXIT_POPF: case L.EXIT_IRET:
      need(v(L.C_IF_MODE) === L.IF_MODE_TRAP && (qual === 2 || qual === 4), "IF-sensitive exit outside trap mode or of a bad size");
      break;
    default:
      out.push(`exit reason ${reason} is not one the core produces`);
  }
  return out;
}

// A VMX instruction exits only with CR4.VMXE set, in protected mode outside virtual-8086 mode, and
// its instruction information has the SDM's shape: nothing for VMLAUNCH/VMRESUME/VMXOFF; for the
// others an address size of 16 or 32 bits, a real segment, and the register form only for
// VMREAD/VMWRITE (the undefined bits, which the core leaves 0, included).
function checkVmxExit(v: (offset: number) => number, reason: number): string[] {
  const out: string[] = [];
  const info = v(L.X_INSTRUCTION_INFO);
  if (!(v(L.G_CR4) & CR4_VMXE)) out.push("with CR4.VMXE clear");
  if (!(v(L.G_CR0) & CR0_PE) || v(L.G_EFLAGS) & 0x20000) out.push("outside protected mode");
  const readWrite = reason === L.EXIT_VMREAD || reason === L.EXIT_VMWRITE;
  if (VMX_NO_OPERAND.has(reason)) {
    if (info !== 0 || v(L.X_QUALIFICATION) !== 0) out.push(`exit information ${hex(info)} for an instruction without operands`);
  } else if (info & L.VMX_INFO_REGISTER) {
    if (!readWrite || (info & ~0xf000047f) !== 0) out.push(`register-operand information ${hex(info)}`);
  } else if ((info & (readWrite ? 0x0000787c : 0xf000787c)) !== 0 || ((info >>> 7) & 7) > 1 || ((info >>> 15) & 7) > 5) {
    out.push(`memory-operand information ${hex(info)}`);
  }
  return out;
}

// An SVM instruction exits only with EFER.SVME set, and, VMMCALL aside, in protected mode outside
// virtual-8086 mode at CPL 0 (the APM's #UD and #GP(0) come first); there is no qualification.
// STGI and CLGI exit only while an interrupt waits or L2 runs (`stgiExits`).
function checkSvmExit(v: (offset: number) => number, reason: number, stgiExits: boolean): string[] {
  const out: string[] = [];
  if (!(v(L.G_EFER) & L.EFER_SVME)) out.push("with EFER.SVME clear");
  if (reason !== L.EXIT_SVM_VMMCALL) {
    if (!(v(L.G_CR0) & CR0_PE) || v(L.G_EFLAGS) & 0x20000) out.push("outside protected mode");
    if (v(L.G_CPL) !== 0) out.push(`at CPL ${v(L.G_CPL)}`);
  }
  if (v(L.X_QUALIFICATION) !== 0) out.push(`qualification ${hex(v(L.X_QUALIFICATION))}`);
  if ((reason === L.EXIT_SVM_STGI || reason === L.EXIT_SVM_CLGI) && !stgiExits) out.push("while no interrupt waits and L1 runs");
  return out;
}

function checkCrAccess(v: (offset: number) => number, qual: number, primary: number): string[] {
  const cr = qual & 15;
  const access = (qual >>> 4) & 3;
  const out: string[] = [];
  if (qual & 0xf080) out.push("reserved qualification bits set");
  if (access !== 3 && (qual >>> 16) !== 0) out.push("LMSW data without LMSW");
  if (access !== 3 && (qual & 0x40)) out.push("LMSW operand type without LMSW");
  if (cr !== 0 && cr !== 2 && cr !== 3 && cr !== 4) out.push(`exit for CR${cr}`);
  // SVM's CR intercepts (C_CR_INTERCEPTS) make any access exit: a read by bit n, a write (CLTS and LMSW of CR0) by bit 16 + n.
  if ((v(L.C_CR_INTERCEPTS) >>> (access === 1 ? cr : L.CR_WRITE_INTERCEPTS + cr)) & 1) return out;
  if (access === 1 && !(cr === 3 && primary & L.CTL_CR3_STORE_EXITING)) out.push("MOV from CR exits with no CR-store exiting control or intercept");
  if (cr === 2) out.push("CR2 exit without its intercept");
  if (cr === 3 && access !== 1 && (primary & L.CTL_CR3_LOAD_EXITING) === 0) out.push("CR3 exit without CR3-load exiting");
  if (cr === 0 && v(L.C_CR0_MASK) === 0) out.push("CR0 exit with no CR0 bit owned by the VMM");
  if (cr === 4 && v(L.C_CR4_MASK) === 0) out.push("CR4 exit with no CR4 bit owned by the VMM");
  return out;
}

function checkIo(core: BareCore, qual: number, primary: number): string[] {
  const size = (qual & 7) + 1;
  const port = qual >>> 16;
  const out: string[] = [];
  if (size !== 1 && size !== 2 && size !== 4) out.push(`access size ${size}`);
  if (qual & 0xff80) out.push("reserved qualification bits set");
  if ((qual & L.IOQ_REP) && !(qual & L.IOQ_STRING)) out.push("REP without a string instruction");
  if ((qual & 0x40) && (qual & L.IOQ_STRING)) out.push("immediate port on a string instruction");
  if (primary & L.CTL_USE_IO_BITMAPS) {
    const bytes = core.bytes;
    let marked = port + size > 0x10000;
    for (let p = port; p < Math.min(port + size, 0x10000); p++) marked ||= ((bytes[L.IO_BITMAP_A + (p >> 3)] >> (p & 7)) & 1) === 1;
    if (!marked) out.push(`port ${hex(port)} is not in the I/O bitmaps`);
  } else if (!(primary & L.CTL_UNCONDITIONAL_IO)) {
    out.push("I/O exit without I/O exiting");
  }
  return out;
}

/**
 * Problems with the guest state saved at the exit. `levelSwitched`: the core switched levels since
 * the last exit (an SVM VMRUN or #VMEXIT it made itself), loading EIP from a VMCB or the host save
 * area.
 */
export function checkGuestState(core: BareCore, reason: number, levelSwitched = false): string[] {
  const v = (offset: number): number => core.vmcs(offset);
  const seg = (s: number, field: number): number => v(L.G_SEG + s * L.SEG_STRIDE + field);
  const out: string[] = [];
  const eflags = v(L.G_EFLAGS);
  if ((eflags & 2) === 0 || (eflags & EFLAGS_RESERVED) !== 0) out.push(`EFLAGS ${hex(eflags)}: bit 1 clear or a reserved bit set`);
  if (v(L.G_CR0) & CR0_PE) {
    const cpl = v(L.G_CPL);
    const ssDpl = (seg(L.SR_SS, L.SEG_AR) >>> 5) & 3;
    if (cpl !== ssDpl) out.push(`CPL ${cpl} but SS.DPL ${ssDpl}`);
    // CS.RPL is the CPL once CS is loaded in protected mode. Right after a MOV to CR0 sets PE, CS
    // still holds what real mode loaded (base = selector * 16, any RPL) and the CPL is real mode's 0
    // until a far transfer (SDM Vol. 3A, "Switching to Protected Mode"; VM entry's checks on guest
    // segment registers waive CS.RPL = SS.RPL for unrestricted guests, which can be in this state).
    const cs = seg(L.SR_CS, L.SEG_SEL);
    if (seg(L.SR_CS, L.SEG_BASE) === cs << 4) {
      if (cpl !== 0) out.push(`CPL ${cpl} with CS ${hex(cs)} as real mode loads it`);
    } else if ((cs & 3) !== cpl) {
      out.push(`CPL ${cpl} but CS selector ${hex(cs)}`);
    }
  }
  // An exiting instruction was fetched, so it lies within the limit; a fault may name the first
  // byte past the limit (code that ran off its end) but no further: branches check their targets.
  // A level switch does not: VMRUN loads any RIP (none of the APM's consistency checks holds it to
  // CS's limit, nor do Bochs'), and the first fetch there faults naming it.
  const limit = seg(L.SR_CS, L.SEG_LIMIT);
  const eip = v(L.G_EIP);
  if ((INSTRUCTION_EXITS.has(reason) && eip > limit) || (reason === L.EXIT_EXCEPTION && eip > limit + 1 && !levelSwitched)) {
    out.push(`EIP ${hex(eip)} beyond the CS limit ${hex(limit)} at exit ${reason}`);
  }
  return out;
}
