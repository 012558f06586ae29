// Interrupt and exception delivery through the guest IDT (docs/design.md: "interrupt/exception
// delivery through the guest IDT"), the double/triple-fault rules, the VMX exception bitmap, and IRET.
// Event kinds are the VMX interruption types, so an event the VMM injects at VM entry maps directly.
// Not supported: task gates and task switches (a task gate in the IDT raises #GP, IRET with NT set
// raises #GP(0)), virtual-8086 mode (EFLAGS.VM is ignored), NMI blocking (an NMI is delivered as
// any other event), and setting RF in the EFLAGS image pushed for faults.
import { mayChangeIf, ifPrivilege, trapIfSensitive, takenSelector } from "./ifmode";
import {
  eip, instrStart, cpl, o32, pending, raise, clearException, excVector, excErrorCode, cr0, pageFaultAddress,
  r32, segSel, segLimit, segAr, PEND_EXCEPTION, CR0_PE, ESP,
  CF, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL, NT, RF, VM, AC, ID,
  EXC_DF, EXC_NP, EXC_GP, EXC_PF,
} from "./state";
import {
  VMCS_BASE, G_CR2, G_IDTR_BASE, G_IDTR_LIMIT, SR_CS, SR_SS, EXIT_EXCEPTION, EXIT_TRIPLE_FAULT, EXIT_IRET,
} from "../vmcs-layout";
import { linRead32 } from "../memory/linear";
import { setSegment, arDpl, AR_ACCESSED, AR_CODE, AR_DC, AR_S, AR_P } from "./segment";
import { getEflags, setEflags } from "./flags";
import { peek, setSp, spOffset, stackWindow } from "./stack";
import { vmexit, setExitInterruptInfo, exceptionBitmap, eventInfo, eventError, startDelivery, endDelivery } from "./vmexit";
import {
  fetchDescriptor, readSystemEntry, entryLo, entryHi, markAccessed, takeCode, loadCs, tssStack, frameCurrent, frameNew, framePush,
  frameCommitSp, checkReturnCs, checkReturnSs, commitOuterReturn, selErr, descAr, descHi,
  cLimit, cAddr, cHi, nsSel, nsBase, nsLimit, nsAr, nsAddr, nsHi,
} from "./descriptors";

// Event kinds (VMX interruption types, SDM 24.8.3).
export const EVENT_EXTERNAL: u32 = 0;
export const EVENT_NMI: u32 = 2;
export const EVENT_HW_EXCEPTION: u32 = 3;
export const EVENT_SW_INTERRUPT: u32 = 4; // INT n
export const EVENT_SOFTWARE: u32 = EVENT_SW_INTERRUPT;
export const EVENT_PRIV_SW_EXCEPTION: u32 = 5; // INT1 (ICEBP)
export const EVENT_SW_EXCEPTION: u32 = 6; // INT3, INTO

const VIF: u32 = 0x80000;
const VIP: u32 = 0x100000;

// Exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC.
@inline export function vectorHasError(v: u32): bool {
  return v == 8 || (v >= 10 && v <= 14) || v == 17;
}
// INT n, INT3 and INTO: the gate's DPL is checked and EXT is 0 in error codes.
@inline function isSoftware(kind: u32): bool { return kind == EVENT_SW_INTERRUPT || kind == EVENT_SW_EXCEPTION; }

// Exception classes of the double-fault rules (SDM Table 6-4/6-5).
const CLASS_BENIGN: u32 = 0;
const CLASS_CONTRIBUTORY: u32 = 1;
const CLASS_PAGE_FAULT: u32 = 2;
function exceptionClass(v: u32): u32 {
  if (v == 0 || (v >= 10 && v <= 13)) return CLASS_CONTRIBUTORY;
  if (v == 14) return CLASS_PAGE_FAULT;
  return CLASS_BENIGN;
}

// ---- One delivery attempt -------------------------------------------------------------------------
// Deliver `vector` once; a fault on the way leaves the guest state untouched and `pending` set.
function deliverOnce(vector: u32, kind: u32, errorCode: i32, retEip: u32, pushError: bool): void {
  if (!(cr0() & CR0_PE)) { deliverReal(vector, retEip); return; }
  const ext: u32 = isSoftware(kind) ? 0 : 1;
  const idtErr = <i32>((vector << 3) | 2 | ext);
  if ((vector << 3) + 7 > load<u32>(VMCS_BASE + G_IDTR_LIMIT)) { raise(EXC_GP, idtErr); return; }
  const gateAddr = load<u32>(VMCS_BASE + G_IDTR_BASE) + (vector << 3);
  if (!readSystemEntry(gateAddr)) return;
  const lo = entryLo;
  const hi = entryHi;
  const type = (hi >>> 8) & 0x1f; // type and S
  if (type != 5 && type != 6 && type != 7 && type != 0xe && type != 0xf) { raise(EXC_GP, idtErr); return; }
  if (isSoftware(kind) && ((hi >>> 13) & 3) < cpl) { raise(EXC_GP, <i32>((vector << 3) | 2)); return; }
  if (!(hi & 0x8000)) { raise(EXC_NP, idtErr); return; }
  // A task gate would switch tasks: not supported, so it faults as an invalid gate would.
  if (type == 5) { raise(EXC_GP, idtErr); return; }
  const gate32 = (type & 8) != 0;
  const trapGate = (type & 1) != 0;
  const bytes: u32 = gate32 ? 4 : 2;
  let target = (lo & 0xffff) | (hi & 0xffff0000);
  if (!gate32) target &= 0xffff;
  const csSel = lo >>> 16;
  if ((csSel & 0xfffc) == 0) { raise(EXC_GP, <i32>ext); return; }
  if (!fetchDescriptor(csSel, EXC_GP, ext)) return;
  const car = descAr(descHi);
  const dpl = arDpl(car);
  if ((car & (AR_S | AR_CODE)) != (AR_S | AR_CODE) || dpl > cpl) { raise(EXC_GP, selErr(csSel, ext)); return; }
  if (!(car & AR_P)) { raise(EXC_NP, selErr(csSel, ext)); return; }
  takeCode();
  const inner = !(car & AR_DC) && dpl < cpl;
  const flags = getEflags();
  // Build the frame: on the TSS stack of ring `dpl` for an inner-ring handler, else on this stack.
  if (inner) {
    if (!tssStack(dpl, ext)) return;
    frameNew(selErr(nsSel, ext));
    framePush(bytes, segSel(SR_SS));
    framePush(bytes, r32(ESP));
  } else {
    frameCurrent(<i32>ext);
  }
  framePush(bytes, flags);
  framePush(bytes, segSel(SR_CS));
  framePush(bytes, retEip);
  if (pushError) framePush(bytes, errorCode < 0 ? 0 : <u32>errorCode);
  if (pending) return;
  if (target > cLimit) { raise(EXC_GP, <i32>ext); return; }
  markAccessed(cAddr, cHi);
  if (pending) return;
  if (inner) {
    markAccessed(nsAddr, nsHi);
    if (pending) return;
    setSegment(SR_SS, nsSel, nsBase, nsLimit, nsAr | AR_ACCESSED); // CPL becomes dpl
  }
  // Commit: ESP, CS:EIP, EFLAGS.
  frameCommitSp();
  loadCs(csSel, cpl);
  eip = target;
  let f = flags & ~(TF | NT | RF | VM);
  if (!trapGate) f &= ~IF;
  setEflags(f);
}

// Real-address mode: the IVT at IDTR.base holds 4-byte IP:CS vectors; FLAGS, CS, IP are pushed
// (16-bit, no error code) and IF, TF, AC, RF are cleared.
function deliverReal(vector: u32, retEip: u32): void {
  if ((vector << 2) + 3 > load<u32>(VMCS_BASE + G_IDTR_LIMIT)) { raise(EXC_GP, 0); return; }
  const ent = linRead32(load<u32>(VMCS_BASE + G_IDTR_BASE) + (vector << 2), false);
  if (pending) return;
  const flags = getEflags();
  frameCurrent(0);
  framePush(2, flags);
  framePush(2, segSel(SR_CS));
  framePush(2, retEip);
  if (pending) return;
  const sel = ent >>> 16;
  frameCommitSp();
  setSegment(SR_CS, sel, sel << 4, segLimit(SR_CS), segAr(SR_CS));
  eip = ent & 0xffff;
  setEflags(flags & ~(IF | TF | AC | RF));
}

// ---- Dispatch with the double-fault rules and the exception bitmap ---------------------------------
// Whether an event the CPU raises pushes an error code: a hardware exception whose vector has one.
// An injected event says so itself (deliverInjected).
function pushesError(vector: u32, kind: u32): bool {
  return kind == EVENT_HW_EXCEPTION && vectorHasError(vector);
}

// `retEip` is the address the handler returns to: the faulting instruction for faults, the next
// instruction for traps, software interrupts and external interrupts.
function dispatch(vector: u32, kind: u32, errorCode: i32, retEip: u32, checkBitmap: bool, pushError: bool): void {
  if (pending & PEND_EXCEPTION) clearException();
  // A fault while delivering restarts the instruction that caused the event (INT n itself for
  // software interrupts); for hardware events that is the event's own return address.
  const faultEip = (kind >= EVENT_SW_INTERRUPT) ? instrStart : retEip;
  // Each round's event is the one being delivered while deliverOnce() runs and when the exception
  // it raised is looked up in the bitmap: an exit then happens during its delivery (vmexit.ts).
  // Every return below ends the delivery.
  const length = kind >= EVENT_SW_INTERRUPT ? retEip - instrStart : 0;
  for (let round = 0; ; round++) {
    if (checkBitmap && (kind == EVENT_HW_EXCEPTION || kind == EVENT_SW_EXCEPTION) &&
        (exceptionBitmap() & (1 << vector))) {
      setExitInterruptInfo(eventInfo(vector, kind, pushError), eventError(errorCode, pushError));
      // A #DF that exits is not an exit during delivery (SDM 27.2.4; Bochs' VMexit_Event and
      // SvmInterceptException, the APM).
      if (vector == <u32>EXC_DF) endDelivery();
      // INT3/INTO exit with their instruction length and EIP at the instruction, as VMX saves it.
      eip = retEip;
      vmexit(EXIT_EXCEPTION, vector == 14 ? pageFaultAddress : 0);
      eip = faultEip;
      endDelivery();
      return;
    }
    // A #PF the MMU raised sets CR2 as it is delivered (one the VMM injects came with its CR2).
    if (checkBitmap && vector == 14 && kind == EVENT_HW_EXCEPTION) store<u32>(VMCS_BASE + G_CR2, pageFaultAddress);
    startDelivery(vector, kind, errorCode, pushError, length);
    deliverOnce(vector, kind, errorCode, retEip, pushError);
    // Delivered, or an exit during the delivery (a write trap on the frame) that recorded the event.
    if (!(pending & PEND_EXCEPTION)) {
      endDelivery();
      return;
    }
    const v2 = <u32>excVector;
    const e2 = excErrorCode;
    clearException();
    eip = faultEip;
    if ((kind == EVENT_HW_EXCEPTION && vector == <u32>EXC_DF) || round >= 8) {
      // Nor is a triple fault (SDM 27.2.4; Bochs' VMexit_TripleFault).
      endDelivery();
      vmexit(EXIT_TRIPLE_FAULT, 0);
      return;
    }
    const first = kind == EVENT_HW_EXCEPTION ? exceptionClass(vector) : CLASS_BENIGN;
    const second = exceptionClass(v2);
    if ((first == CLASS_CONTRIBUTORY && second == CLASS_CONTRIBUTORY) ||
        (first == CLASS_PAGE_FAULT && second != CLASS_BENIGN)) {
      vector = <u32>EXC_DF;
      errorCode = 0;
    } else {
      vector = v2;
      errorCode = e2;
    }
    kind = EVENT_HW_EXCEPTION;
    pushError = pushesError(vector, kind);
    retEip = faultEip;
    checkBitmap = true;
  }
}

// Deliver an event of `kind` (EVENT_*) returning to `nextEip`, applying the exception bitmap and
// the double/triple-fault rules.
export function deliverEvent(vector: u32, kind: u32, errorCode: i32, nextEip: u32): void {
  dispatch(vector & 0xff, kind, errorCode, nextEip, true, pushesError(vector & 0xff, kind));
}

// The run loop's entry for a raised exception (excVector/excErrorCode); EIP is where the handler
// returns (instrStart for faults, already set by the run loop).
export function deliverException(vector: i32, errorCode: i32): void {
  dispatch(<u32>vector & 0xff, EVENT_HW_EXCEPTION, errorCode, eip, true, pushesError(<u32>vector & 0xff, EVENT_HW_EXCEPTION));
}

// INT n (kind EVENT_SW_INTERRUPT, the default) and INT3/INTO (pass EVENT_SW_EXCEPTION: those are
// subject to the exception bitmap, INT n is not). EIP already points after the instruction.
export function softwareInterrupt(vector: u32, kind: u32 = EVENT_SW_INTERRUPT): void {
  dispatch(vector & 0xff, kind, -1, eip, true, false);
}

// VM-entry event injection from the interruption-information format (vector 0-7, type 8-10,
// error code pushed 11, valid 31): bit 11 decides the push, not the vector (SVM's EV, APM 15.20;
// VMX's entry checks allow it only where the vector has one). The injected event itself is not
// subject to the exception bitmap; faults during its delivery are. Software events return past
// the instruction (`instrLen` bytes, as VMX specifies).
export function deliverInjected(info: u32, errorCode: i32, instrLen: u32): void {
  if (!(info & (1 << 31))) return;
  const kind = (info >> 8) & 7;
  instrStart = eip;
  const ret = kind >= EVENT_SW_INTERRUPT ? eip + instrLen : eip;
  dispatch(info & 0xff, kind, errorCode, ret, false, (info & (1 << 11)) != 0);
}

// ---- IRET ----------------------------------------------------------------------------------------
// Word `i` of IRET's frame (EIP, CS, EFLAGS, then ESP and SS for an outer return): from `window`
// when stackWindow() found all five readable at once, else by peek().
@inline function frameWord(window: u32, i: u32, bytes: u32): u32 {
  return window != 0 ? load<u32>(window + (i << 2)) : peek(i * bytes, bytes);
}

export function iret(): void {
  const bytes: u32 = o32 ? 4 : 2;
  const window = o32 ? stackWindow(5 * 4) : 0;
  const newEip = frameWord(window, 0, bytes);
  if (pending) return;
  const csSel = takenSelector(frameWord(window, 1, bytes) & 0xffff);
  if (pending) return;
  const tf = frameWord(window, 2, bytes);
  if (pending) return;
  const flags = getEflags();
  if (!(cr0() & CR0_PE)) {
    if (newEip > segLimit(SR_CS)) { raise(EXC_GP, 0); return; }
    setSp(spOffset(3 * bytes));
    setSegment(SR_CS, csSel, csSel << 4, segLimit(SR_CS), segAr(SR_CS));
    eip = newEip;
    setEflags(o32 ? (tf & 0x257fd5) | (flags & 0x1a0000) : (flags & 0xffff0000) | (tf & 0xffff));
    return;
  }
  // A nested-task return would switch tasks: not supported.
  if (flags & NT) { raise(EXC_GP, 0); return; }
  // tempEFLAGS.VM (a return to virtual-8086 mode) is ignored: that mode is not supported.
  if (!checkReturnCs(csSel)) return;
  const rpl = csSel & 3;
  const outer = rpl > cpl;
  let newEsp: u32 = 0;
  if (outer) {
    newEsp = frameWord(window, 3, bytes);
    if (pending) return;
    const ssSel = frameWord(window, 4, bytes) & 0xffff;
    if (pending) return;
    if (!checkReturnSs(ssSel, rpl)) return;
  }
  if (newEip > cLimit) { raise(EXC_GP, 0); return; }
  markAccessed(cAddr, cHi);
  if (pending) return;
  if (outer) {
    markAccessed(nsAddr, nsHi);
    if (pending) return;
  }
  // EFLAGS: IOPL (and VIF/VIP) only at CPL 0, IF only when CPL <= IOPL, RF/AC/ID for 32-bit IRET.
  const oldCpl = cpl;
  let mask: u32 = CF | PF | AF | ZF | SF | TF | DF | OF | NT;
  if (o32) mask |= RF | AC | ID;
  if (mayChangeIf(oldCpl, flags)) mask |= IF;
  if (ifPrivilege(oldCpl) == 0) { mask |= IOPL; if (o32) mask |= VIF | VIP; }
  if (outer) {
    commitOuterReturn(csSel, newEsp);
  } else {
    setSp(spOffset(3 * bytes));
    loadCs(csSel, oldCpl);
  }
  eip = newEip;
  setEflags((flags & ~mask) | (tf & mask));
}

// The IRET instruction: an exit where the IF mode makes it sensitive (ifmode.ts), else iret().
export function interruptReturn(): void {
  if (!trapIfSensitive(EXIT_IRET)) iret();
}
