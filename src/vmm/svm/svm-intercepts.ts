// Which of L2's exits L1 asked for under SVM, and what #VMEXIT tells it (APM Vol. 2 15.9-15.14 and
// appendix C), as KVM's nested_svm_exit_handled/nested_svm_intercept decide it. The core reports
// its own exits (VT-x style reasons); each one L1's intercepts cover becomes the APM's exit code:
//  - exceptions by the exception intercept vector: 40h + vector, EXITINFO1 the error code,
//    EXITINFO2 the faulting address of a #PF (CR2 is not written);
//  - CR reads and writes by the CR intercept vectors: 00h + n, 10h + n (CLTS and LMSW write CR0);
//    a CR0 write L1 does not intercept but whose selective intercept it set, and which changes a
//    bit other than TS and MP: 65h. Without decode assists EXITINFO1 is 0;
//  - INTR 60h (L0's interrupts held for L1, nested/nested-run.ts), RDTSC 6Eh, CPUID 72h, HLT 78h,
//    INVLPG 79h, INVLPGA 7Ah, shutdown 7Fh (a triple fault), VMRUN 80h (always: its intercept is
//    required), VMMCALL 81h, VMLOAD 82h, VMSAVE 83h, STGI 84h, CLGI 85h, by their bits;
//  - IOIO 7Bh by L1's I/O permission map, every port of the access (EXITINFO1 in the APM's format,
//    EXITINFO2 the next RIP); MSR 7Ch by L1's MSR permission map (EXITINFO1 0 RDMSR, 1 WRMSR).
// Maps are read in L1's memory at the exit; a byte past the end of RAM reads as ones (intercept).
// nRIP (NRIPS is offered) is the next instruction's address for instruction intercepts, IOIO, MSR
// and INT3/INTO's exceptions, 0 for the rest.

import {
  EXIT_CPUID, EXIT_CR_ACCESS, EXIT_EXCEPTION, EXIT_HLT, EXIT_INVLPG, EXIT_IO, EXIT_RDMSR, EXIT_RDTSC, EXIT_SVM_CLGI,
  EXIT_SVM_INVLPGA, EXIT_SVM_STGI, EXIT_SVM_VMLOAD, EXIT_SVM_VMMCALL, EXIT_SVM_VMRUN, EXIT_SVM_VMSAVE, EXIT_TRIPLE_FAULT,
  EXIT_WRMSR, G_CR0, G_EIP, G_SEG, INTR_HAS_ERROR, IOQ_IN, IOQ_REP, IOQ_STRING, SEG_AR, SEG_BASE, SEG_STRIDE, SR_CS,
  SVM_EXIT_BASE, X_INSTRUCTION_INFO, X_INSTRUCTION_LENGTH, X_INTR_ERROR, X_INTR_INFO, X_QUALIFICATION, X_VECTORING_ERROR, X_VECTORING_INFO, INTR_VALID,
} from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import { CR0_TS } from "../control-registers.js";
import { CR_ACCESS_CLTS, CR_ACCESS_LMSW, CR_ACCESS_MOV_FROM, decodeCrAccess } from "../exits/cr-access.js";
import type { ExitContext } from "../exits/exit-context.js";
import { readLinearBytes } from "../guest-memory.js";
import { bitmapBit } from "../nested/l2-exits.js";
import {
  CR_INTERCEPTS, EVENT_TYPE_EXCEPTION, EXCEPTION_INTERCEPTS, INTERCEPT_CLGI, INTERCEPT_CPUID, INTERCEPT_CR0_SELECTIVE, INTERCEPT_HLT, INTERCEPT_INVLPG,
  INTERCEPT_INVLPGA, INTERCEPT_IOIO, INTERCEPT_MSR, INTERCEPT_RDTSC, INTERCEPT_SHUTDOWN, INTERCEPT_STGI, INTERCEPT_VMLOAD,
  INTERCEPT_VMMCALL, INTERCEPT_VMSAVE, INTERCEPTS_1, INTERCEPTS_2, IOPM_BASE, MSRPM_BASE, permissionMapBase, type Vmcb,
  VMEXIT_CR0_READ, VMEXIT_CR0_WRITE, VMEXIT_EXCEPTION, VMEXIT_INTR, VMEXIT_CR0_SELECTIVE_WRITE, VMEXIT_RDTSC, VMEXIT_CPUID, VMEXIT_HLT, VMEXIT_INVLPG, VMEXIT_IOIO, VMEXIT_MSR, VMEXIT_SHUTDOWN,
} from "./vmcb.js";

export { VMEXIT_CR0_READ, VMEXIT_CR0_WRITE, VMEXIT_EXCEPTION, VMEXIT_INTR, VMEXIT_CR0_SELECTIVE_WRITE, VMEXIT_RDTSC, VMEXIT_CPUID, VMEXIT_HLT, VMEXIT_INVLPG, VMEXIT_IOIO, VMEXIT_MSR, VMEXIT_SHUTDOWN };

/** The APM's names of the codes from 60h (appendix C), for traces and statistics. */
const NAMES_FROM_INTR = [
  "INTR", "NMI", "SMI", "INIT", "VINTR", "CR0_SEL_WRITE", "IDTR_READ", "GDTR_READ", "LDTR_READ", "TR_READ", "IDTR_WRITE", "GDTR_WRITE",
  "LDTR_WRITE", "TR_WRITE", "RDTSC", "RDPMC", "PUSHF", "POPF", "CPUID", "RSM", "IRET", "SWINT", "INVD", "PAUSE", "HLT", "INVLPG",
  "INVLPGA", "IOIO", "MSR", "TASK_SWITCH", "FERR_FREEZE", "SHUTDOWN", "VMRUN", "VMMCALL", "VMLOAD", "VMSAVE", "STGI", "CLGI",
];

/** A #VMEXIT code's name as the APM gives it: VMEXIT_CR3_WRITE, VMEXIT_EXCP14, VMEXIT_CPUID... */
export function svmExitCodeName(code: number): string {
  if (code === -1) return "VMEXIT_INVALID";
  if (code >= 0 && code < 0x40) return `VMEXIT_${code < 0x20 ? "CR" : "DR"}${code & 0xf}_${code & 0x10 ? "WRITE" : "READ"}`;
  if (code >= VMEXIT_EXCEPTION && code < VMEXIT_INTR) return `VMEXIT_EXCP${code - VMEXIT_EXCEPTION}`;
  const name = NAMES_FROM_INTR[code - VMEXIT_INTR];
  return name === undefined ? `VMEXIT code ${code}` : `VMEXIT_${name}`;
}

/** A #VMEXIT code's number as the APM and Bochs write it: in hex (VMEXIT_CPUID is 0x72); VMEXIT_INVALID -1. */
export function svmExitCodeNumber(code: number): string {
  return code < 0 ? String(code) : `0x${code.toString(16)}`;
}

/** Not an exit L1 asked for. */
export const NOT_INTERCEPTED = -2;

const CR0_MP = 1 << 1;
const VECTOR_BP = 3;
const VECTOR_OF = 4;
const VECTOR_PF = 14;
const INTR_TYPE_SOFTWARE_EXCEPTION = 6 << 8;
const INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION = 5 << 8;
const INTR_TYPE = 7 << 8;

/** The intercept bit (in INTERCEPTS_1 or _2) of an SVM instruction's exit; VMRUN's is required. */
function instructionIntercept(vmcb: Vmcb, reason: number): boolean {
  switch (reason) {
    case EXIT_SVM_VMRUN: return true;
    case EXIT_SVM_VMMCALL: return (vmcb.read(INTERCEPTS_2) & INTERCEPT_VMMCALL) !== 0;
    case EXIT_SVM_VMLOAD: return (vmcb.read(INTERCEPTS_2) & INTERCEPT_VMLOAD) !== 0;
    case EXIT_SVM_VMSAVE: return (vmcb.read(INTERCEPTS_2) & INTERCEPT_VMSAVE) !== 0;
    case EXIT_SVM_STGI: return (vmcb.read(INTERCEPTS_2) & INTERCEPT_STGI) !== 0;
    case EXIT_SVM_CLGI: return (vmcb.read(INTERCEPTS_2) & INTERCEPT_CLGI) !== 0;
    default: return (vmcb.read(INTERCEPTS_1) & INTERCEPT_INVLPGA) !== 0;
  }
}

/** The #VMEXIT code of this exit of L2's if L1 intercepts it, else NOT_INTERCEPTED. */
export function l1InterceptCode(vm: ExitContext, vmcb: Vmcb, reason: number): number {
  const intercepts = vmcb.read(INTERCEPTS_1);
  const when = (bit: number, code: number) => ((intercepts & bit) !== 0 ? code : NOT_INTERCEPTED);
  switch (reason) {
    case EXIT_EXCEPTION: {
      const vector = vm.vmcs.get(X_INTR_INFO) & 0xff;
      return (vmcb.read(EXCEPTION_INTERCEPTS) >>> vector) & 1 ? VMEXIT_EXCEPTION + vector : NOT_INTERCEPTED;
    }
    case EXIT_CR_ACCESS: return crAccessCode(vm.vmcs, vmcb, intercepts);
    case EXIT_TRIPLE_FAULT: return when(INTERCEPT_SHUTDOWN, VMEXIT_SHUTDOWN);
    case EXIT_RDTSC: return when(INTERCEPT_RDTSC, VMEXIT_RDTSC);
    case EXIT_CPUID: return when(INTERCEPT_CPUID, VMEXIT_CPUID);
    case EXIT_HLT: return when(INTERCEPT_HLT, VMEXIT_HLT);
    case EXIT_INVLPG: return when(INTERCEPT_INVLPG, VMEXIT_INVLPG);
    case EXIT_IO: return (intercepts & INTERCEPT_IOIO) !== 0 && portIntercepted(vm, vmcb) ? VMEXIT_IOIO : NOT_INTERCEPTED;
    case EXIT_RDMSR:
    case EXIT_WRMSR:
      return (intercepts & INTERCEPT_MSR) !== 0 && msrIntercepted(vm, vmcb, reason === EXIT_WRMSR) ? VMEXIT_MSR : NOT_INTERCEPTED;
    case EXIT_SVM_VMRUN: case EXIT_SVM_VMMCALL: case EXIT_SVM_VMLOAD: case EXIT_SVM_VMSAVE:
    case EXIT_SVM_STGI: case EXIT_SVM_CLGI: case EXIT_SVM_INVLPGA:
      return instructionIntercept(vmcb, reason) ? reason - SVM_EXIT_BASE : NOT_INTERCEPTED;
    default:
      return NOT_INTERCEPTED;
  }
}

/** APM 15.9.1-2: the CR vectors decide; else a CR0 write (MOV, LMSW) that changes more than TS and MP under the selective intercept. */
function crAccessCode(vmcs: Vmcs, vmcb: Vmcb, intercepts: number): number {
  const { cr, type, gpr, lmswData } = decodeCrAccess(vmcs.get(X_QUALIFICATION));
  const vectors = vmcb.read(CR_INTERCEPTS);
  if (type === CR_ACCESS_MOV_FROM) return (vectors >>> cr) & 1 ? VMEXIT_CR0_READ + cr : NOT_INTERCEPTED;
  if ((vectors >>> (16 + cr)) & 1) return VMEXIT_CR0_WRITE + cr;
  if (cr !== 0 || !(intercepts & INTERCEPT_CR0_SELECTIVE) || type === CR_ACCESS_CLTS) return NOT_INTERCEPTED;
  const current = vmcs.get(G_CR0);
  const next = type === CR_ACCESS_LMSW ? (current & ~0xf) | (lmswData & 0xf) | (current & 1) : vmcs.reg(gpr);
  return ((next ^ current) & ~(CR0_TS | CR0_MP)) !== 0 ? VMEXIT_CR0_SELECTIVE_WRITE : NOT_INTERCEPTED;
}

/** APM 15.10.1: the IOPM's bit of every port the access touches. */
function portIntercepted(vm: ExitContext, vmcb: Vmcb): boolean {
  const qualification = vm.vmcs.get(X_QUALIFICATION);
  const port = qualification >>> 16;
  const base = permissionMapBase(vmcb, IOPM_BASE);
  for (let p = port; p < port + (qualification & 7) + 1; p++) if (bitmapBit(vm.ram, base, p)) return true;
  return false;
}

/** APM 15.11: two bits per MSR (read, then write) in three 2 KiB ranges; any other MSR is intercepted. */
function msrIntercepted(vm: ExitContext, vmcb: Vmcb, write: boolean): boolean {
  const msr = vm.vmcs.reg(Reg.ECX);
  let range: number;
  if (msr <= 0x1fff) range = 0;
  else if (msr >= 0xc0000000 && msr <= 0xc0001fff) range = 0x800;
  else if (msr >= 0xc0010000 && msr <= 0xc0011fff) range = 0x1000;
  else return true;
  return bitmapBit(vm.ram, permissionMapBase(vmcb, MSRPM_BASE) + range, (msr & 0x1fff) * 2 + (write ? 1 : 0));
}

/** What #VMEXIT writes beside the code. */
export interface SvmExitInformation {
  info1: number;
  info2: number;
  /** The next RIP, or 0 where the APM says nRIP is not saved. */
  nextRip: number;
  /** EXITINTINFO and its error code: the event being delivered when the exit happened, or 0. */
  intInfo: number;
  intError: number;
}

export const NO_EXIT_INFORMATION: SvmExitInformation = { info1: 0, info2: 0, nextRip: 0, intInfo: 0, intError: 0 };

/** The exit information of `code`, from the core's exit `reason` of L2's. */
export function svmExitInformation(vm: ExitContext, reason: number, code: number): SvmExitInformation {
  const { vmcs } = vm;
  const nextRip = (vmcs.get(G_EIP) + vmcs.get(X_INSTRUCTION_LENGTH)) >>> 0;
  if (code >= VMEXIT_EXCEPTION && code < VMEXIT_EXCEPTION + 32) {
    const info = vmcs.get(X_INTR_INFO);
    const vector = code - VMEXIT_EXCEPTION;
    const software = (info & (7 << 8)) === INTR_TYPE_SOFTWARE_EXCEPTION && (vector === VECTOR_BP || vector === VECTOR_OF);
    const vectoring = vmcs.get(X_VECTORING_INFO);
    return {
      info1: info & INTR_HAS_ERROR ? vmcs.get(X_INTR_ERROR) : 0,
      info2: vector === VECTOR_PF ? vmcs.get(X_QUALIFICATION) : 0,
      nextRip: software ? nextRip : 0,
      intInfo: exitIntInfo(vectoring),
      intError: vectoring & INTR_VALID ? vmcs.get(X_VECTORING_ERROR) : 0,
    };
  }
  switch (code) {
    case VMEXIT_IOIO: return { info1: ioExitInfo(vm), info2: nextRip, nextRip, intInfo: 0, intError: 0 };
    case VMEXIT_MSR: return { info1: reason === EXIT_WRMSR ? 1 : 0, info2: 0, nextRip, intInfo: 0, intError: 0 };
    case VMEXIT_INTR: case VMEXIT_SHUTDOWN: return NO_EXIT_INFORMATION;
    default: return { info1: 0, info2: 0, nextRip, intInfo: 0, intError: 0 };
  }
}

/**
 * EXITINTINFO (APM 15.7.2) from the core's vectoring information, in the same layout but for the
 * type: the APM has no software-exception types, INT3, INTO and INT1 are exceptions (3) there.
 */
function exitIntInfo(vectoring: number): number {
  if (!(vectoring & INTR_VALID)) return 0;
  const type = vectoring & INTR_TYPE;
  const software = type === INTR_TYPE_SOFTWARE_EXCEPTION || type === INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION;
  return (software ? (vectoring & ~INTR_TYPE) | (EVENT_TYPE_EXCEPTION << 8) : vectoring) >>> 0;
}

// EXITINFO1 of IOIO (APM 15.10.2): TYPE (1 = IN) 0, STR 2, REP 3, SZ8/16/32 4-6, A16/A32 7-8, port 31:16.
const IO_IN = 1 << 0;
const IO_STRING = 1 << 2;
const IO_REP = 1 << 3;
const IO_SIZE_SHIFT = 4;
const IO_A16 = 1 << 7;
const IO_A32 = 1 << 8;
const AR_DB = 1 << 14;
/** Instruction prefixes; 67h is the address-size one. */
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

function ioExitInfo(vm: ExitContext): number {
  const qualification = vm.vmcs.get(X_QUALIFICATION);
  const string = (qualification & IOQ_STRING) !== 0;
  // A string instruction's address size is in the core's instruction information (bits 9:7);
  // IN and OUT use none, but the APM reports the instruction's all the same: CS.D, flipped by 67h.
  const a32 = string ? ((vm.vmcs.get(X_INSTRUCTION_INFO) >>> 7) & 7) === 1 : addressSize32(vm);
  return (
    (qualification & IOQ_IN ? IO_IN : 0) |
    (string ? IO_STRING : 0) |
    (qualification & IOQ_REP ? IO_REP : 0) |
    (1 << (IO_SIZE_SHIFT + [0, 1, 0, 2][qualification & 3])) |
    (a32 ? IO_A32 : IO_A16) |
    (qualification & 0xffff0000)
  ) >>> 0;
}

function addressSize32(vm: ExitContext): boolean {
  const { vmcs } = vm;
  const default32 = (vmcs.get(G_SEG + SR_CS * SEG_STRIDE + SEG_AR) & AR_DB) !== 0;
  let override = false;
  const bytes = readLinearBytes(vm, (vmcs.get(G_SEG + SR_CS * SEG_STRIDE + SEG_BASE) + vmcs.get(G_EIP)) >>> 0, vmcs.get(X_INSTRUCTION_LENGTH));
  for (const byte of bytes ?? []) {
    if (!PREFIXES.has(byte)) break;
    if (byte === 0x67) override = true;
  }
  return default32 !== override;
}
