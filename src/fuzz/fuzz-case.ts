// One fuzz case, as plain data: the machine the VMM sets up (RAM size, VMCS guest state and
// controls, I/O bitmaps, tables and handlers in guest RAM), the code under test, and what the VMM
// does at each VM entry (budget, event to inject). It is all a replay needs, so a crashing case is
// saved as NAME.bin (the code) and NAME.json (everything else) and replays the same way forever.
import { IO_BITMAP_A } from "../../assembly/vmcs-layout.js";
import { LS_ENABLED, LS_INTERRUPTS_WAIT, LS_SVM_HSAVE_PA } from "../../assembly/level-switch-layout.js";
import type { BareCore } from "./core-module.js";

export interface Entry {
  /** Preemption-timer budget for this entry: instructions before the core hands control back. */
  budget: number;
  /** Event to inject at entry: [interruption information, error code, instruction length]. */
  inject?: [number, number, number];
  /** After an exception exit, give the exception back to the guest at this entry. */
  reflect?: boolean;
}

export interface CaseSetup {
  /** Guest RAM in bytes (a multiple of 64 KiB). */
  ram: number;
  /** VMCS fields the VMM sets before the first entry, [byte offset, value], in order. */
  vmcs: [number, number][];
  /** Non-zero bytes of I/O bitmaps A and B: [offset from bitmap A, value]. */
  ioBitmap: [number, number][];
  /** Guest-physical memory written before the first entry: [address, hex bytes]. */
  memory: [number, string][];
  /** Runs of dwords (page tables): [address, count, first value, increment]. */
  runs: [number, number, number, number][];
  /** Guest-physical address the code is loaded at. */
  codeAt: number;
  /** The VMM has an interrupt waiting (the level-switch area's LS_INTERRUPTS_WAIT): STGI and CLGI exit. */
  interruptsWait?: boolean;
  /**
   * The VMM lets the core switch levels itself (LS_ENABLED, as nothing watches exits and nothing
   * waits), with VM_HSAVE_PA at `hsave` (LS_SVM_HSAVE_PA): an SVM L1's VMRUN may enter L2 in the core.
   */
  levelSwitch?: { hsave: number };
  entries: Entry[];
}

export interface FuzzCase {
  setup: CaseSetup;
  code: Uint8Array;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Programs a fresh core with the case: memory, code, I/O bitmaps and VMCS fields. */
export function applySetup(core: BareCore, c: FuzzCase): void {
  const ram = core.ram;
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const { setup } = c;
  for (const [at, hex] of setup.memory) ram.set(Buffer.from(hex, "hex").subarray(0, Math.max(0, ram.length - at)), at);
  for (const [at, count, first, step] of setup.runs) {
    for (let i = 0; i < count && at + i * 4 + 4 <= ram.length; i++) view.setUint32(at + i * 4, (first + i * step) >>> 0, true);
  }
  ram.set(c.code.subarray(0, Math.max(0, ram.length - setup.codeAt)), setup.codeAt);
  const bytes = core.bytes;
  for (const [offset, value] of setup.ioBitmap) bytes[IO_BITMAP_A + (offset & 0x1fff)] = value;
  for (const [offset, value] of setup.vmcs) core.setVmcs(offset, value);
  const area = new DataView(bytes.buffer, core.exports.levelSwitchArea());
  area.setUint32(LS_INTERRUPTS_WAIT, setup.interruptsWait ? 1 : 0, true);
  if (setup.levelSwitch === undefined) return;
  area.setUint32(LS_ENABLED, 1, true);
  area.setUint32(LS_SVM_HSAVE_PA, setup.levelSwitch.hsave >>> 0, true);
}
