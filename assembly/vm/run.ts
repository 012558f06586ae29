// VM entry, the execution loop, and VM exit. Entry loads the guest state from the VMCS and
// injects the event the VMM asked for; the loop executes instructions until one of them exits or
// the preemption-timer budget runs out; exit stores the state back so the VMM sees it all in the
// VMCS, and the VMM's exit handler is called. Nothing here allocates.
import {
  VMCS_BASE, G_EIP, G_DR, G_EFLAGS, G_ACTIVITY, G_INSTRET_LO, G_CPL, G_INTERRUPTIBILITY,
  C_PREEMPTION_TIMER, E_INTR_INFO, E_INTR_ERROR, E_INSTRUCTION_LENGTH, X_REASON,
  INTR_VALID, ACTIVITY_ACTIVE,
  ACTIVITY_HLT, EXIT_PREEMPTION_TIMER, PREEMPTION_HOST_WORK, EXIT_INTERRUPT_WINDOW, CTL_INTERRUPT_WINDOW,
  C_CLEAN_FIELDS, CLEAN_SEGMENTS, CLEAN_CONTROL_REGS, CLEAN_CONTROLS, CLEAN_DERIVED, CLEAN_ALL,
} from "../vmcs-layout";
import {
  eip, instrStart, pending, excVector, excErrorCode, clearException, retired, cpl, noteModeChange,
  controlTransferred, PEND_EXCEPTION, PEND_EXIT, PEND_YIELD, PEND_DELIVERED, PEND_RESUME, TF, EXC_DB,
} from "../cpu/state";
import {
  budget, budgetState, BUDGET_LEFT, BUDGET_YIELD, startBudget, continueBudget, noteNotRetired, noteRetiredAfterAll, retireSpentBudget,
  blockEventsAtEntry, interruptibilityAtExit, interruptible,
} from "../cpu/retirement";
import { getEflags, setEflags, flagsWord } from "../cpu/flags";
import { refreshSegmentCache } from "../cpu/segment";
import { loadPhysicalControls } from "../memory/physical";
import { followPagingControls } from "../memory/linear";
import { checkAddressSpace } from "../mmu/mmu";
import { step, resetDecodeState } from "../cpu/execute";
import { deliverException, deliverInjected } from "../cpu/interrupts";
import { vmexit, controls } from "../cpu/vmexit";
import { loadIfMode, translatedOnly } from "../cpu/ifmode";
import { translatedStep, leaveTranslatedBlock } from "../bt/executor";
import { runCompiledBlocks, blockContext, blockStillValid, resumeAfterNext, compiledCodeAllowedNow } from "../jit/block-cache";
import { countingForms, countInterpretedForm, formAt } from "../jit/interpreted-forms";
import { switchInCore } from "./level-switch";

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
    loadPhysicalControls();
  }
  if (!(clean & CLEAN_CONTROL_REGS)) followPagingControls();
  checkAddressSpace();
  if ((clean & CLEAN_DERIVED) != CLEAN_DERIVED) noteModeChange();
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

const DR6_BS: u32 = 1 << 14; // DR6: single-step trap
const NOT_COUNTED: u32 = 0xffffffff; // no interpreted form to count (interpreted-forms.ts)

// Single-step (EFLAGS.TF): a #DB trap after every instruction that began with TF set.
function singleStepTrap(): void {
  store<u32>(VMCS_BASE + G_DR + 6 * 4, load<u32>(VMCS_BASE + G_DR + 6 * 4) | DR6_BS);
  instrStart = eip;
  deliverException(EXC_DB, -1);
}

// After an instruction that left something pending: a fault is delivered (the instruction
// restarts), an exit or a yield ends the entry (true).
function settlePending(): bool {
  if (pending & PEND_DELIVERED) return true;
  noteNotRetired(); // unless it completed and then yielded
  if (pending & PEND_EXCEPTION) {
    const vector = excVector;
    const code = excErrorCode;
    clearException();
    eip = instrStart; // faults restart the instruction
    deliverException(vector, code);
  }
  if (pending & PEND_EXIT) { eip = instrStart; return true; }
  if (pending & PEND_YIELD) { noteRetiredAfterAll(); return true; }
  return false;
}

// The VMM's exit handler, where VT-x's host-state RIP points: called at every VM exit with the
// guest state saved in the VMCS. Nonzero resumes the guest (VMRESUME), zero returns from run().
// The VMM's run loop is thus this call, not a return and a new run() per exit. A nested guest's
// level switch the core can make as the VMM would (level-switch.ts switchInCore) is made first,
// and the guest goes on without the call.
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
    if (!deliverToHost) break;
    if (!switchInCore(reason) && !hostExit(reason)) break;
  }
  deliverToHost = outer;
  return reason;
}

function enter(): void {
  entries++;
  loadGuestState();
  leaveTranslatedBlock();
  injectEvent();
  // A halted guest stays halted until the VMM injects an event.
  const halted = load<u32>(VMCS_BASE + G_ACTIVITY) == ACTIVITY_HLT;
  startBudget(halted ? 0 : load<u32>(VMCS_BASE + C_PREEMPTION_TIMER));
  // Blocking the VMM put in the interruptibility state (after emulating STI, say) lasts until
  // the first instruction of this entry completes.
  const blocking = load<u32>(VMCS_BASE + G_INTERRUPTIBILITY) & 3;
  if (blocking) blockEventsAtEntry(blocking);
}

function executeUntilExit(): void {
  // Interrupt-window exiting (SDM 25.2): leave as soon as the guest is interruptible, at entry or
  // at any later instruction boundary. No compiled code runs while it is watched, so checking here
  // suffices.
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
    const state = budgetState();
    if (state != BUDGET_LEFT) {
      instrStart = eip;
      vmexit(EXIT_PREEMPTION_TIMER, state == BUDGET_YIELD ? PREEMPTION_HOST_WORK : 0);
      return;
    }
    budget--;
    const stepping = (flagsWord & TF) != 0;
    // (only while counting: --stats) the form, if compiled code could run it here
    const form = countingForms && compiledCodeAllowedNow() ? formAt(eip) : NOT_COUNTED;
    // (under bt the guest kernel's code runs only as translated code: assembly/bt/)
    if (translatedOnly()) translatedStep(); else step();
    if (form != NOT_COUNTED) countInterpretedForm(form);
    // The one place compiled code is entered from the interpreter: where a block may start, after
    // a control transfer or where compiled code asked to be back (block-cache.ts resumeAfterNext).
    if (controlTransferred || resumeAfterNext) enterCompiledCode(stepping || windowWatch);
    if (pending == 0) {
      if (stepping) singleStepTrap();
      continue;
    }
    if (settlePending()) return;
  }
}

// After an instruction that transferred control: run compiled blocks from there, unless it
// faulted, or the run loop must look at every instruction boundary: single-stepping (compiled code
// never traps after each instruction) or watching the interrupt window.
function enterCompiledCode(perInstruction: bool): void {
  controlTransferred = false;
  resumeAfterNext = false;
  if (pending == 0 && !perInstruction) runCompiledBlocks();
}

// VM exit: the guest state into the VMCS. Returns the exit reason.
function leave(): u32 {
  retireSpentBudget();
  pending = 0;
  store<u32>(VMCS_BASE + C_PREEMPTION_TIMER, budget);
  store<u32>(VMCS_BASE + G_INTERRUPTIBILITY, interruptibilityAtExit());
  saveGuestState();
  return load<u32>(VMCS_BASE + X_REASON);
}

// An exit of an instruction the core performed for a compiled block (assembly/jit/), delivered right
// there: `remaining` instructions of the block follow it, from `next` on, and the block took their
// budget at entry. When the VM entry after the handler needs nothing but the instruction at `next`,
// the block goes on (returns 0); otherwise it ends, refunding their budget, and vmRun enters anew or
// returns (PEND_DELIVERED).
export function deliverExitInBlock(remaining: u32, entry: u32, next: u32): u32 {
  if (!deliverToHost) return pending;
  budget += remaining;
  settlePending();
  const reason = leave();
  // What the entry would have to act on besides the guest's registers: blocking by STI or MOV SS
  // now, and after the handler any write to the entry state (CLEAN_ENTRY_STATE, one word for
  // EFLAGS, activity, interruptibility, event injection and the controls).
  const blocked = load<u32>(VMCS_BASE + G_INTERRUPTIBILITY) & 3;
  const entriesBefore = entries;
  const context = blockContext();
  if (!switchInCore(reason) && !hostExit(reason)) return endBlockAfterExit(PEND_DELIVERED, remaining);
  const newBudget = load<u32>(VMCS_BASE + C_PREEMPTION_TIMER);
  const simpleEntry = !blocked && entries == entriesBefore && load<u32>(VMCS_BASE + G_EIP) == next &&
    load<u32>(VMCS_BASE + C_CLEAN_FIELDS) == CLEAN_ALL && newBudget > remaining &&
    blockContext() == context && blockStillValid(entry);
  if (!simpleEntry) return endBlockAfterExit(PEND_DELIVERED | PEND_RESUME, remaining);
  entries++;
  eip = next;
  continueBudget(newBudget, remaining);
  return 0;
}

// The block ends after an exit delivered inside it. Its instructions' budget, counted back at the
// exit, is taken again, because the block refunds it as it leaves: the accounting then stays exact
// (retiredSoFar(), the compiled-instruction count) whatever the handler did to the budget.
function endBlockAfterExit(delivered: u32, remaining: u32): u32 {
  budget -= remaining;
  pending = delivered;
  return pending;
}
