// VM entry, the execution loop, and VM exit. Entry loads the guest state from the VMCS and
// injects the event the VMM asked for; the loop executes instructions until one of them exits or
// the preemption-timer budget runs out; exit stores the state back so the VMM sees it all in the
// VMCS, and the VMM's exit handler is called. Nothing here allocates.
import {
  VMCS_BASE, G_EIP, G_DR, G_EFLAGS, G_ACTIVITY, G_INSTRET_LO, G_CPL, G_INTERRUPTIBILITY,
  C_PREEMPTION_TIMER, E_INTR_INFO, E_INTR_ERROR, E_INSTRUCTION_LENGTH, X_REASON,
  INTR_VALID, ACTIVITY_ACTIVE,
  ACTIVITY_HLT, EXIT_PREEMPTION_TIMER, EXIT_INTERRUPT_WINDOW, CTL_INTERRUPT_WINDOW,
  C_CLEAN_FIELDS, CLEAN_SEGMENTS, CLEAN_CONTROL_REGS, CLEAN_CONTROLS, CLEAN_ALL,
} from "../vmcs-layout";
import {
  eip, instrStart, pending, excVector, excErrorCode, clearException, retired, cpl,
  PEND_EXCEPTION, PEND_EXIT, PEND_YIELD, PEND_DELIVERED, PEND_RESUME, TF, IF, EXC_DB,
} from "./state";
import { getEflags, setEflags, flagsWord } from "./flags";
import { refreshSegmentCache } from "./segment";
import { refreshPagingMode, loadWriteTrap } from "./memory";
import { checkAddressSpace } from "../mmu/mmu";
import { step, resetDecodeState } from "./execute";
import { deliverException, deliverInjected } from "./interrupts";
import { vmexit, controls } from "./vmexit";
import { loadIfMode } from "./ifmode";
import { updateJitMode, runCompiledBlocks, blockContext, blockStillValid } from "./jit";

// Registers, EIP and EFLAGS are loaded at every entry; what the core derives from the segment
// registers, CR0/CR4 and its controls is recomputed only for the groups the VMM wrote since the
// last exit (C_CLEAN_FIELDS). The CR3 check is cheap and also catches a CR3 load that exited.
function loadGuestState(): void {
  eip = load<u32>(VMCS_BASE + G_EIP);
  setEflags(load<u32>(VMCS_BASE + G_EFLAGS));
  const clean = load<u32>(VMCS_BASE + C_CLEAN_FIELDS);
  if (!(clean & CLEAN_SEGMENTS)) refreshSegmentCache();
  resetDecodeState();
  if (!(clean & CLEAN_CONTROLS)) {
    loadIfMode();
    loadWriteTrap();
  }
  if (!(clean & CLEAN_CONTROL_REGS)) refreshPagingMode();
  checkAddressSpace();
  if (clean != CLEAN_ALL) updateJitMode();
  pending = 0;
}

function saveGuestState(): void {
  store<u32>(VMCS_BASE + G_EIP, eip);
  store<u32>(VMCS_BASE + G_EFLAGS, getEflags());
  store<u64>(VMCS_BASE + G_INSTRET_LO, retired);
  store<u32>(VMCS_BASE + G_CPL, cpl);
  store<u32>(VMCS_BASE + C_CLEAN_FIELDS, CLEAN_ALL);
}

// VM-entry event injection (SDM 26.6): deliver the event in the entry interruption-information
// field through the guest IDT before the first guest instruction, then invalidate the field.
function injectEvent(): void {
  const info = load<u32>(VMCS_BASE + E_INTR_INFO);
  if (!(info & INTR_VALID)) return;
  store<u32>(VMCS_BASE + E_INTR_INFO, info & ~INTR_VALID);
  store<u32>(VMCS_BASE + G_ACTIVITY, ACTIVITY_ACTIVE);
  deliverInjected(info, <i32>load<u32>(VMCS_BASE + E_INTR_ERROR), load<u32>(VMCS_BASE + E_INSTRUCTION_LENGTH));
}

// Instructions left before the preemption-timer exit, and the bookkeeping that turns the budget
// spent into the count of retired instructions (which is also the guest's virtual TSC).
const DR6_BS: u32 = 1 << 14; // DR6: single-step trap
export let budget: u32 = 0;
let budgetAtEntry: u32 = 0;
let notRetired: u32 = 0; // instructions that faulted or exited instead of completing

// Blocking by STI and by MOV SS (SDM 24.4.2): events are held off until the instruction after
// the one that set the shadow has completed. Recorded as the retired count it lasts until, so
// the loop pays nothing for it; it matters only when the guest exits inside the shadow.
let shadowUntil: u64 = 0;
let shadowKind: u32 = 0;

export function blockEventsAfterThisInstruction(kind: u32): void {
  shadowUntil = retiredBeforeThisInstruction() + 1;
  shadowKind = kind;
}
export function cancelEventBlocking(): void { shadowKind = 0; }

function interruptibilityAtExit(): u32 {
  return retired == shadowUntil ? shadowKind : 0;
}

// Between instructions: can the guest take an external interrupt now? (IF set, not in the shadow
// of STI or MOV SS.)
function interruptible(): bool {
  if (!(flagsWord & IF)) return false;
  const completed = retired + <u64>(budgetAtEntry - budget - notRetired);
  return shadowKind == 0 || completed != shadowUntil;
}

// Single-step (EFLAGS.TF): a #DB trap after every instruction that began with TF set.
function singleStepTrap(): void {
  store<u32>(VMCS_BASE + G_DR + 6 * 4, load<u32>(VMCS_BASE + G_DR + 6 * 4) | DR6_BS);
  instrStart = eip;
  deliverException(EXC_DB, -1);
}

// Instructions retired before the one executing now (for RDTSC and the shadows, which run
// inside an instruction; the loop has already taken that instruction from the budget).
export function retiredBeforeThisInstruction(): u64 {
  return retired + <u64>(budgetAtEntry - budget - 1 - notRetired);
}

// After an instruction that left something pending: a fault is delivered (the instruction
// restarts), an exit or a yield ends the entry (true).
function settlePending(): bool {
  if (pending & PEND_DELIVERED) return true;
  notRetired++; // unless it completed and then yielded
  if (pending & PEND_EXCEPTION) {
    const vector = excVector;
    const code = excErrorCode;
    clearException();
    eip = instrStart; // faults restart the instruction
    deliverException(vector, code);
  }
  if (pending & PEND_EXIT) { eip = instrStart; return true; }
  if (pending & PEND_YIELD) { notRetired--; return true; }
  return false;
}

// The VMM's exit handler, where VT-x's host-state RIP points: called at every VM exit with the
// guest state saved in the VMCS. Nonzero resumes the guest (VMRESUME), zero returns from run().
// The VMM's run loop is thus this call, not a return and a new run() per exit.
@external("vmm", "exit")
declare function hostExit(reason: u32): u32;

// Whether exits go to hostExit: not in emulate()'s one-instruction run, whose exit is its result.
let deliverToHost: bool = false;
// VM entries so far: an exit handler that ran the guest (emulate()) shows as a change.
let entries: u32 = 0;

// VM entry and the instructions until the next exit; then VM exit, and the host's handler.
export function vmRun(deliverExits: bool): u32 {
  const outer = deliverToHost;
  deliverToHost = deliverExits;
  let reason: u32;
  while (true) {
    enter();
    executeUntilExit();
    if (pending & PEND_DELIVERED) { // an exit in a compiled block, already handled there
      const resume = (pending & PEND_RESUME) != 0;
      pending = 0;
      reason = load<u32>(VMCS_BASE + X_REASON);
      if (resume) continue;
      break;
    }
    reason = leave();
    if (!deliverToHost || !hostExit(reason)) break;
  }
  deliverToHost = outer;
  return reason;
}

function enter(): void {
  entries++;
  loadGuestState();
  injectEvent();
  budget = load<u32>(VMCS_BASE + C_PREEMPTION_TIMER);
  // A halted guest stays halted until the VMM injects an event.
  if (load<u32>(VMCS_BASE + G_ACTIVITY) == ACTIVITY_HLT) budget = 0;
  budgetAtEntry = budget;
  notRetired = 0;
  // Blocking the VMM put in the interruptibility state (after emulating STI, say) lasts until
  // the first instruction of this entry completes.
  const blocking = load<u32>(VMCS_BASE + G_INTERRUPTIBILITY) & 3;
  if (blocking) {
    shadowKind = blocking;
    shadowUntil = retired;
  }
}

function executeUntilExit(): void {
  // Interrupt-window exiting (SDM 25.2): leave as soon as the guest is interruptible, at entry or
  // at any later instruction boundary. Compiled blocks never change IF, so checking here suffices.
  const windowWatch = (controls() & CTL_INTERRUPT_WINDOW) != 0;
  // Straight into compiled code where there is some: a loop around an exiting instruction is
  // then re-entered with no instruction interpreted (the window watch checks before any).
  if (pending == 0 && !windowWatch) {
    runCompiledBlocks();
    if (pending != 0 && settlePending()) return;
  }
  // (delivering an event, injected or a single-step trap, may exit too)
  while (!(pending & PEND_EXIT)) {
    if (windowWatch && interruptible()) {
      instrStart = eip;
      vmexit(EXIT_INTERRUPT_WINDOW, 0);
      return;
    }
    if (budget == 0) {
      instrStart = eip;
      vmexit(EXIT_PREEMPTION_TIMER, 0);
      return;
    }
    budget--;
    const stepping = (flagsWord & TF) != 0;
    step();
    if (pending == 0) {
      if (stepping) singleStepTrap();
      continue;
    }
    if (settlePending()) return;
  }
}

// VM exit: the guest state into the VMCS. Returns the exit reason.
function leave(): u32 {
  retired += <u64>(budgetAtEntry - budget - notRetired);
  budgetAtEntry = budget;
  notRetired = 0;
  pending = 0;
  store<u32>(VMCS_BASE + C_PREEMPTION_TIMER, budget);
  store<u32>(VMCS_BASE + G_INTERRUPTIBILITY, interruptibilityAtExit());
  saveGuestState();
  return load<u32>(VMCS_BASE + X_REASON);
}

// An exit of an instruction the core performed for a compiled block (jit.ts), delivered right
// there: `remaining` instructions of the block follow it, and the block took their budget at
// entry. When the VM entry after the handler needs nothing but the next instruction, the block
// goes on (returns 0); otherwise it ends, and vmRun enters anew or returns (PEND_DELIVERED).
export function deliverExitInBlock(remaining: u32, entry: u32): u32 {
  if (!deliverToHost) return pending;
  const next = eip;
  budget += remaining;
  settlePending();
  const reason = leave();
  const eflags = load<u32>(VMCS_BASE + G_EFLAGS);
  const entriesBefore = entries;
  const context = blockContext();
  if (!hostExit(reason)) {
    pending = PEND_DELIVERED;
    return pending;
  }
  const newBudget = load<u32>(VMCS_BASE + C_PREEMPTION_TIMER);
  const simpleEntry = entries == entriesBefore && load<u32>(VMCS_BASE + G_EIP) == next &&
    load<u32>(VMCS_BASE + C_CLEAN_FIELDS) == CLEAN_ALL && load<u32>(VMCS_BASE + G_EFLAGS) == eflags &&
    !(load<u32>(VMCS_BASE + E_INTR_INFO) & INTR_VALID) && load<u32>(VMCS_BASE + G_ACTIVITY) == ACTIVITY_ACTIVE &&
    !(load<u32>(VMCS_BASE + G_INTERRUPTIBILITY) & 3) && !(controls() & CTL_INTERRUPT_WINDOW) &&
    newBudget > remaining && blockContext() == context && blockStillValid(entry);
  if (!simpleEntry) {
    pending = PEND_DELIVERED | PEND_RESUME;
    return pending;
  }
  entries++;
  eip = next;
  budgetAtEntry = newBudget;
  budget = newBudget - remaining;
  return 0;
}
