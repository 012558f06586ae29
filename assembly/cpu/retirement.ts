// The instruction budget and the accounting that turns it into retired instructions (which are
// also the guest's virtual TSC), with the interrupt shadows that are measured in them. A leaf:
// the run loop (assembly/vm/run.ts) spends the budget, the instructions that need the count
// (RDTSC, STI, MOV SS, REP) read it, and the compiling tier takes whole blocks from it.
import { retired, IF, emulating } from "./state";
import { flagsWord } from "./flags";
import { VMCS_BASE, C_HOST_WORK_YIELD, STAT_HOST_WORK_LO } from "../vmcs-layout";

// Instructions left before the preemption-timer exit.
export let budget: u32 = 0;
let budgetAtEntry: u32 = 0;
let notRetired: u32 = 0; // instructions that faulted or exited instead of completing

// A VM entry with `instructions` to run before the preemption timer fires.
export function startBudget(instructions: u32): void {
  budget = instructions;
  budgetAtEntry = instructions;
  notRetired = 0;
}

// An entry that goes on inside a compiled block (run.ts deliverExitInBlock): the block has
// already taken `taken` of the new budget.
export function continueBudget(instructions: u32, taken: u32): void {
  budgetAtEntry = instructions;
  budget = instructions - taken;
}

// Host work the guest caused beyond executing instructions (the shadow MMU scanning or clearing
// its tables, the host compiling a block), in units of about one instruction's host time, when
// the VMM asks for it (C_HOST_WORK_YIELD). Once it reaches what is left of the budget the entry
// ends, so that the VMM looks at the wall clock as soon in host time whatever the guest makes the
// host do; the budget and the retired count stay as they were, so the guest sees nothing of it.
// Checked only between instructions (budgetState), where none of the budget is a block's.
export let hostWorkOwed: u32 = 0; // compiled code reads it too (src/jit/translate.ts budgetCovers)

export function chargeHostWork(units: u32): void {
  store<u64>(VMCS_BASE + STAT_HOST_WORK_LO, load<u64>(VMCS_BASE + STAT_HOST_WORK_LO) + units); // for the fuzzer's host-cost check
  if (load<u32>(VMCS_BASE + C_HOST_WORK_YIELD) == 0) return;
  hostWorkOwed = units > 0x7fffffff - hostWorkOwed ? 0x7fffffff : hostWorkOwed + units;
}

// Between instructions: must the entry end? BUDGET_LEFT: no. BUDGET_SPENT: the budget has run
// out. BUDGET_YIELD: the host work owed has reached what is left of it, which stays for the next
// entry. (One comparison while nothing is owed, as `budget == 0` was.)
export const BUDGET_LEFT: u32 = 0;
export const BUDGET_SPENT: u32 = 1;
export const BUDGET_YIELD: u32 = 2;

@inline export function budgetState(): u32 {
  if (budget > hostWorkOwed) return BUDGET_LEFT;
  // emulate()'s one instruction must run: its budget of 1 says when it has, not the work owed.
  if (emulating) return budget == 0 ? BUDGET_SPENT : BUDGET_LEFT;
  hostWorkOwed = 0;
  return budget == 0 ? BUDGET_SPENT : BUDGET_YIELD;
}

// Whether compiled code may take `instructions` from the budget (host work owed counts as spent).
@inline export function budgetCovers(instructions: u32): bool {
  return budget > instructions + hostWorkOwed;
}

// The instruction now ending did not complete (a fault or an exit before it), or, after all, did.
export function noteNotRetired(): void { notRetired++; }
export function noteRetiredAfterAll(): void { notRetired--; }

// At VM exit: count what was spent as retired.
export function retireSpentBudget(): void {
  retired += <u64>(budgetAtEntry - budget - notRetired);
  budgetAtEntry = budget;
  notRetired = 0;
}

// Instructions retired so far, between instructions (a compiled block counts those it took from
// the budget and did not refund).
export function retiredSoFar(): u64 {
  return retired + <u64>(budgetAtEntry - budget - notRetired);
}

// Instructions retired before the one executing now (for RDTSC and the shadows, which run
// inside an instruction; the loop has already taken that instruction from the budget).
export function retiredBeforeThisInstruction(): u64 {
  return retiredSoFar() - 1;
}

// Blocking by STI and by MOV SS (SDM 24.4.2): events are held off until the instruction after
// the one that set the shadow has completed. Recorded as the retired count it lasts until, so
// the loop pays nothing for it; it matters only when the guest exits inside the shadow.
let shadowUntil: u64 = 0;
let shadowKind: u32 = 0;

export function blockEventsAfterThisInstruction(kind: u32): void {
  shadowUntil = retiredSoFar(); // the count once this instruction has retired
  shadowKind = kind;
}
export function cancelEventBlocking(): void { shadowKind = 0; }

// Blocking the VMM put in the interruptibility state at VM entry: it lasts until the entry's
// first instruction completes.
export function blockEventsAtEntry(kind: u32): void {
  shadowKind = kind;
  shadowUntil = retired;
}

// Inside an instruction: does blocking by STI or MOV SS hold for it (an exit now would report it)?
export function inEventShadow(): bool {
  return shadowKind != 0 && retiredBeforeThisInstruction() == shadowUntil;
}

export function interruptibilityAtExit(): u32 {
  return retired == shadowUntil ? shadowKind : 0;
}

// Between instructions: can the guest take an external interrupt now? (IF set, not in the shadow
// of STI or MOV SS.)
export function interruptible(): bool {
  if (!(flagsWord & IF)) return false;
  return shadowKind == 0 || retiredSoFar() != shadowUntil;
}
