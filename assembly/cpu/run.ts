// VM entry, the execution loop, and VM exit. Entry loads the guest state from the VMCS and
// injects the event the VMM asked for; the loop executes instructions until one of them exits or
// the preemption-timer budget runs out; exit stores the state back so the VMM sees it all in the
// VMCS. Nothing here allocates or calls out to JavaScript.
import {
  VMCS_BASE, G_EIP, G_EFLAGS, G_ACTIVITY, G_INSTRET_LO, G_CPL, G_INTERRUPTIBILITY,
  C_PREEMPTION_TIMER, E_INTR_INFO, E_INTR_ERROR, E_INSTRUCTION_LENGTH, X_REASON,
  INTR_VALID, INTR_HAS_ERROR, INTR_TYPE_EXTERNAL, INTR_TYPE_HW_EXCEPTION, ACTIVITY_ACTIVE,
  ACTIVITY_HLT, EXIT_PREEMPTION_TIMER,
} from "../vmcs-layout";
import {
  eip, instrStart, pending, excVector, excErrorCode, clearException, retired, cpl,
  PEND_EXCEPTION, PEND_EXIT, PEND_YIELD,
} from "./state";
import { getEflags, setEflags } from "./flags";
import { refreshSegmentCache } from "./segment";
import { updatePagingMode } from "./memory";
import { step, resetDecodeState } from "./execute";
import { deliverException, deliverEvent, EVENT_EXTERNAL, EVENT_SOFTWARE } from "./interrupts";
import { vmexit } from "./vmexit";

function loadGuestState(): void {
  eip = load<u32>(VMCS_BASE + G_EIP);
  setEflags(load<u32>(VMCS_BASE + G_EFLAGS));
  refreshSegmentCache();
  resetDecodeState();
  updatePagingMode();
  pending = 0;
}

function saveGuestState(): void {
  store<u32>(VMCS_BASE + G_EIP, eip);
  store<u32>(VMCS_BASE + G_EFLAGS, getEflags());
  store<u64>(VMCS_BASE + G_INSTRET_LO, retired);
  store<u32>(VMCS_BASE + G_CPL, cpl);
}

// VM-entry event injection (SDM 26.6): deliver the event in the entry interruption-information
// field through the guest IDT before the first guest instruction, then invalidate the field.
function injectEvent(): void {
  const info = load<u32>(VMCS_BASE + E_INTR_INFO);
  if (!(info & INTR_VALID)) return;
  store<u32>(VMCS_BASE + E_INTR_INFO, info & ~INTR_VALID);
  store<u32>(VMCS_BASE + G_ACTIVITY, ACTIVITY_ACTIVE);
  const vector = info & 0xff;
  const type = info & (7 << 8);
  instrStart = eip;
  if (type == INTR_TYPE_HW_EXCEPTION) {
    deliverException(<i32>vector, (info & INTR_HAS_ERROR) ? <i32>load<u32>(VMCS_BASE + E_INTR_ERROR) : -1);
  } else if (type == INTR_TYPE_EXTERNAL) {
    deliverEvent(vector, EVENT_EXTERNAL, -1, eip);
  } else {
    deliverEvent(vector, EVENT_SOFTWARE, -1, eip + load<u32>(VMCS_BASE + E_INSTRUCTION_LENGTH));
  }
}

// Instructions left before the preemption-timer exit, and the bookkeeping that turns the budget
// spent into the count of retired instructions (which is also the guest's virtual TSC).
let budget: u32 = 0;
let budgetAtEntry: u32 = 0;
let notRetired: u32 = 0; // instructions that faulted or exited instead of completing

export function retiredNow(): u64 {
  return retired + <u64>(budgetAtEntry - budget - notRetired);
}

export function vmRun(): u32 {
  loadGuestState();
  injectEvent();
  budget = load<u32>(VMCS_BASE + C_PREEMPTION_TIMER);
  // A halted guest stays halted until the VMM injects an event.
  if (load<u32>(VMCS_BASE + G_ACTIVITY) == ACTIVITY_HLT) budget = 0;
  store<u32>(VMCS_BASE + G_INTERRUPTIBILITY, 0);
  budgetAtEntry = budget;
  notRetired = 0;
  while (!(pending & PEND_EXIT)) {
    if (budget == 0) {
      instrStart = eip;
      vmexit(EXIT_PREEMPTION_TIMER, 0);
      break;
    }
    budget--;
    step();
    if (pending == 0) continue;
    notRetired++; // unless it completed and then yielded
    if (pending & PEND_EXCEPTION) {
      const vector = excVector;
      const code = excErrorCode;
      clearException();
      eip = instrStart; // faults restart the instruction
      deliverException(vector, code);
    }
    if (pending & PEND_EXIT) { eip = instrStart; break; }
    if (pending & PEND_YIELD) { notRetired--; break; }
  }
  retired = retiredNow();
  budgetAtEntry = budget;
  notRetired = 0;
  pending = 0;
  resetDecodeState();
  store<u32>(VMCS_BASE + C_PREEMPTION_TIMER, budget);
  saveGuestState();
  return load<u32>(VMCS_BASE + X_REASON);
}
