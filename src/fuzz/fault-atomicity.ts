// A faulting instruction leaves the machine as it found it (SDM 6.5: faults are restartable): no
// register, flag, segment, control register or memory byte changes, only CR2 for #PF. Checked at
// the first entry's exit: replay the case on a fresh core to one unit of budget before that exit,
// remember everything, then execute that one instruction with every exception intercepted
// (bitmap all ones, so no delivery through the guest IDT muddies the picture). If it faults, the
// state must be exactly the remembered one. Allowed to differ: the accessed and dirty bits of
// page-table entries and descriptors (set on the way), and REP string instructions, which fault
// after the iterations that completed.
import * as L from "../../assembly/vmcs-layout.js";
import type { CoreModule, BareCore } from "./core-module.js";
import { coreFor, prepareEntry, type Execution } from "./execute.js";
import type { FuzzCase } from "./fuzz-case.js";
import { exceptionName } from "../vmm/stop-reason.js";

const FAULTS = new Set([0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17]);
const STATE_END = L.G_CPL + 4;
const IGNORED = new Set([L.G_CR2, L.G_INSTRET_LO, L.G_INSTRET_HI, L.G_INTERRUPTIBILITY]);
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

interface Snapshot { state: number[]; ram: Uint32Array }

const REGS = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];
const SREGS = ["ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"];
const NAMED: Record<number, string> = {
  [L.G_EIP]: "EIP", [L.G_EFLAGS]: "EFLAGS", [L.G_CR0]: "CR0", [L.G_CR3]: "CR3", [L.G_CR4]: "CR4", [L.G_GDTR_BASE]: "GDTR.base",
  [L.G_GDTR_LIMIT]: "GDTR.limit", [L.G_IDTR_BASE]: "IDTR.base", [L.G_IDTR_LIMIT]: "IDTR.limit", [L.G_ACTIVITY]: "activity", [L.G_CPL]: "CPL",
};

// The name of the guest-state field at VMCS offset `at`.
function fieldName(at: number): string {
  if (at < L.G_EIP) return REGS[at >> 2];
  if (at >= L.G_SEG && at < L.G_SEG + 8 * L.SEG_STRIDE) {
    return `${SREGS[(at - L.G_SEG) >> 4]}.${["selector", "base", "limit", "access rights"][((at - L.G_SEG) & 15) >> 2]}`;
  }
  if (at >= L.G_DR && at < L.G_DR + 32) return `DR${(at - L.G_DR) >> 2}`;
  return NAMED[at] ?? `VMCS field 0x${at.toString(16)}`;
}

function snapshot(core: BareCore): Snapshot {
  const state: number[] = [];
  for (let at = 0; at < STATE_END; at += 4) state.push(IGNORED.has(at) ? 0 : core.vmcs(at));
  const ram = new Uint32Array(core.ram.slice().buffer);
  for (let i = 0; i < ram.length; i++) ram[i] &= ~0x160; // accessed and dirty bits
  return { state, ram };
}

// Is the instruction at guest CS:EIP a REP-prefixed string instruction?
function repString(core: BareCore): boolean {
  let rep = false;
  const start = (core.vmcs(L.G_SEG + L.SR_CS * L.SEG_STRIDE + L.SEG_BASE) + core.vmcs(L.G_EIP)) >>> 0;
  for (let i = 0; i < 15; i++) {
    const physical = core.exports.translateLinear((start + i) >>> 0, 0);
    if (physical < 0 || physical >= core.ram.length) return false;
    const byte = core.ram[physical];
    if (!PREFIXES.has(byte)) return rep && ((byte >= 0xa4 && byte <= 0xaf) || (byte >= 0x6c && byte <= 0x6f));
    rep ||= byte === 0xf2 || byte === 0xf3;
  }
  return false;
}

/** Problems with the faulting instruction behind `run`'s first exit, if that exit was a fault. */
export function checkFaultAtomicity(source: CoreModule, c: FuzzCase, run: Execution, jit?: boolean): string[] {
  const first = run.exits[0];
  if (!first || first.reason !== L.EXIT_EXCEPTION || run.firstEntryUsed < 1) return [];
  const core = coreFor(source, c, jit);
  core.setVmcs(L.C_HOST_WORK_YIELD, 0); // the entry must end where its budget does
  prepareEntry(core, -1, { ...c.setup.entries[0], budget: run.firstEntryUsed - 1 });
  // A REP string instruction takes a unit of budget per iteration, so one unit less may stop a
  // REP part way, or still reach its fault: then there is no clean "just before" to start from.
  if (core.exports.run() !== L.EXIT_PREEMPTION_TIMER || repString(core)) return [];
  const before = snapshot(core);
  core.setVmcs(L.C_EXCEPTION_BITMAP, 0xffffffff);
  core.setVmcs(L.C_PREEMPTION_TIMER, 1);
  if (core.exports.run() !== L.EXIT_EXCEPTION) return [];
  const vector = core.vmcs(L.X_INTR_INFO) & 0xff;
  if (!FAULTS.has(vector)) return [];
  const after = snapshot(core);
  const hex = (n: number): string => "0x" + (n >>> 0).toString(16);
  const word = before.state.findIndex((v, i) => v !== after.state[i]);
  const where = `${exceptionName(vector)} at EIP ${hex(core.vmcs(L.G_EIP))}`;
  if (word >= 0) return [`the fault ${where} changed ${fieldName(word * 4)}: ${hex(before.state[word])} -> ${hex(after.state[word])}`];
  const dword = before.ram.findIndex((v, i) => v !== after.ram[i]);
  if (dword >= 0) return [`the fault ${where} changed memory at ${hex(dword * 4)}: ${hex(before.ram[dword])} -> ${hex(after.ram[dword])}`];
  return [];
}
