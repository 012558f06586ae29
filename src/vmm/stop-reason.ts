// Why a run of the VM ended: the value the run loop returns and the CLI turns into an exit status
// and a one-line message. Only "guest-exit" is the guest's own choice (a write to isa-debug-exit);
// every other kind means the guest did not finish and is reported with a register dump.

import { hex } from "../loader/load-error.js";

export type StopReason =
  /** The guest wrote `code` to the isa-debug-exit port. */
  | { kind: "guest-exit"; code: number }
  /** A fault while delivering a double fault: the CPU would reset. */
  | { kind: "triple-fault" }
  /** The guest reset the machine through the keyboard controller (the 8042's reset line). */
  | { kind: "reset" }
  /** The host ended the run: a signal (SIGINT, SIGTERM, SIGHUP) or the user's Ctrl-A x. */
  | { kind: "interrupted"; by: string }
  /** The guest retired the instruction budget the run was given. */
  | { kind: "instruction-limit"; limit: number }
  /** The run loop exceeded its wall-clock limit. */
  | { kind: "timeout"; seconds: number }
  /** HLT with nothing that could ever wake the guest. */
  | { kind: "halted"; interruptsEnabled: boolean }
  /** An exception the VMM intercepts (exception bitmap) and does not emulate. */
  | { kind: "exception"; vector: number; errorCode?: number }
  /** A VM exit no handler is registered for. */
  | { kind: "unhandled-exit"; reason: number; name: string }
  /**
   * No instruction retired: a whole slice of the instruction budget went on instructions that
   * faulted, or (`exits` given) the VM exited that many times in a row before any instruction,
   * which the budget, counting attempts, never sees.
   */
  | { kind: "no-progress"; attempts: number; exits?: number };

const EXCEPTION_NAMES = ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP", "#SS", "#GP", "#PF", "", "#MF", "#AC", "#MC", "#XM"];

/** "#GP" for 13, "vector 40" for a vector without a mnemonic. */
export function exceptionName(vector: number): string {
  return EXCEPTION_NAMES[vector] || `vector ${vector}`;
}

export function describeStop(stop: StopReason): string {
  switch (stop.kind) {
    case "guest-exit":
      return `guest exited with code ${stop.code} (isa-debug-exit)`;
    case "triple-fault":
      return "triple fault: the guest faulted while delivering a double fault (a real CPU would reset)";
    case "reset":
      return "the guest reset the machine (keyboard controller reset line); wasmvisor does not reboot";
    case "interrupted":
      return `stopped by ${stop.by}`;
    case "instruction-limit":
      return `instruction budget exhausted: the guest retired ${stop.limit} instructions without exiting`;
    case "timeout":
      return `timeout: the guest ran for ${stop.seconds} s of wall-clock time without exiting`;
    case "halted":
      return stop.interruptsEnabled
        ? "guest halted (HLT) waiting for an interrupt, and no device can raise one: it can never wake"
        : "guest halted (HLT) with interrupts disabled (IF=0) and no event pending: it can never wake";
    case "exception": {
      const name = exceptionName(stop.vector);
      const code = stop.errorCode === undefined ? "" : ` error code ${hex(stop.errorCode)}`;
      return `unhandled guest exception ${name} (vector ${stop.vector})${code}`;
    }
    case "unhandled-exit":
      return `VM exit the VMM does not handle: reason ${stop.reason} (${stop.name})`;
    case "no-progress":
      if (stop.exits !== undefined) return `no progress: ${stop.exits} VM exits in a row and no instruction retired (an exit storm)`;
      return `no progress: ${stop.attempts} instructions attempted and none retired (an exception storm: every one faults)`;
  }
}
