// The memory a guest must never change: everything in the core's linear memory outside guest RAM
// that is not guest state the core saves at a VM exit. Concretely:
//  - the first 64 KiB: the VMCS (except the guest-state area, the exit information, the
//    statistics, the remaining preemption budget, the clean-fields bits and the injection field's
//    valid bit, which the core writes), the I/O bitmaps, and the space around them;
//  - the core's read-only tables (its data segments);
//  - the block cache while the compiling tier is off, and the shadow pool and the TLB banks after
//    guest RAM while no shadow was ever built: they stay as init() left them (zero), but for the
//    code-page masks of the guest's page tables, which the shadow MMU watches (all ones: every
//    chunk; assembly/jit/code-pages.ts watchPage). (The rest of
//    the core's zero-initialised static data is its own scratch, e.g. the frame an interrupt
//    builds.)
//  - the size of memory (the core grows it only in init()).
// A level switch the core makes itself (an SVM L1's VMRUN, L2's CPUID #VMEXIT) also writes the
// controls, the TSC offset and EFER, as the VMM's switch would: those are allowed once it made one.
// The VMM's own writes between entries are allowed: capture() is taken after them, before run().
import {
  G_CPL, G_TSC_LO, IO_BITMAP_A, STAT_HOST_WORK_LO, STAT_SHADOW_ROOTS_BUILT, X_REASON, STAT_BT_BLOCKS_LO, STAT_BT_KINDS_LO, BT_KINDS,
  C_PREEMPTION_TIMER, C_CLEAN_FIELDS, E_INTR_INFO, VMCS_BASE, X_VECTORING_INFO, X_VECTORING_ERROR, C_PIN, G_EFER,
} from "../../assembly/vmcs-layout.js";
import {
  L1_CONTROLS_END, LS_REFLECTED_CPUID_LO, LS_SVM_CPUID_VMEXITS_LO, LS_SVM_VMRUNS_LO, LS_VMLAUNCHES_LO, LS_VMRESUMES_LO,
} from "../../assembly/level-switch-layout.js";
import type { BareCore } from "./core-module.js";

const LOW_END = 0x10000;

// Byte ranges of the first 64 KiB the core itself writes (relative to memory 0).
const CORE_WRITES: [number, number][] = [
  [VMCS_BASE, VMCS_BASE + G_TSC_LO], // guest registers and state, up to the TSC offset
  [VMCS_BASE + G_TSC_LO + 8, VMCS_BASE + G_CPL + 4], // retired count, CPL
  [VMCS_BASE + C_PREEMPTION_TIMER, VMCS_BASE + C_PREEMPTION_TIMER + 4],
  [VMCS_BASE + C_CLEAN_FIELDS, VMCS_BASE + C_CLEAN_FIELDS + 4],
  [VMCS_BASE + X_REASON, VMCS_BASE + E_INTR_INFO + 4], // exit information, entry interruption info
  [VMCS_BASE + X_VECTORING_INFO, VMCS_BASE + X_VECTORING_ERROR + 4], // the event being delivered at an exit
  [VMCS_BASE + 0x300, VMCS_BASE + STAT_HOST_WORK_LO + 8], // statistics
  [VMCS_BASE + STAT_BT_BLOCKS_LO, VMCS_BASE + STAT_BT_KINDS_LO + 8 * BT_KINDS], // binary translation's
];
// And what a level switch the core makes itself writes (assembly/vm/svm-switch.ts: L0's controls for
// L1 set aside and L2's merged in, L1's TSC offset added, EFER), allowed once the core made one.
const LEVEL_SWITCH_WRITES: [number, number][] = [
  [VMCS_BASE + C_PIN, VMCS_BASE + L1_CONTROLS_END],
  [VMCS_BASE + G_TSC_LO, VMCS_BASE + G_TSC_LO + 8],
  [VMCS_BASE + G_EFER, VMCS_BASE + G_EFER + 4],
];
// The level-switch area's counts of the switches the core made (as the VMM has not taken them over).
const SWITCH_COUNTS = [LS_SVM_VMRUNS_LO, LS_SVM_CPUID_VMEXITS_LO, LS_REFLECTED_CPUID_LO, LS_VMRESUMES_LO, LS_VMLAUNCHES_LO];

export function switchesMade(core: BareCore): number {
  const area = new DataView(core.bytes.buffer, core.exports.levelSwitchArea());
  return SWITCH_COUNTS.reduce((sum, at) => sum + area.getUint32(at, true), 0);
}

function hex(n: number): string { return "0x" + n.toString(16); }

export class ProtectedMemory {
  private readonly low: Uint8Array;
  private readonly data: Uint8Array[];
  private readonly size: number;
  private readonly switches: number;

  private constructor(private readonly core: BareCore) {
    const bytes = core.bytes;
    this.low = bytes.slice(0, LOW_END);
    this.data = core.source.dataSegments.map(([from, to]) => bytes.slice(from, to));
    this.size = bytes.length;
    this.switches = switchesMade(core);
  }

  /** Remember what must not change, as it is now (call after the VMM's writes, before run()). */
  static capture(core: BareCore): ProtectedMemory {
    return new ProtectedMemory(core);
  }

  /**
   * What the guest changed that it must not have; `cacheUsed`: C_JIT was set, or C_IF_MODE was bt
   * (binary translations live in the block cache), at some entry.
   */
  violations(cacheUsed: boolean): string[] {
    const bytes = this.core.bytes;
    const out: string[] = [];
    if (bytes.length !== this.size) out.push(`linear memory grew from ${hex(this.size)} to ${hex(bytes.length)} bytes`);
    // the low 64 KiB as they are now, with the fields the core writes put back as they were
    const low = bytes.slice(0, LOW_END);
    for (const [from, to] of CORE_WRITES) low.set(this.low.subarray(from, to), from);
    if (switchesMade(this.core) !== this.switches) for (const [from, to] of LEVEL_SWITCH_WRITES) low.set(this.low.subarray(from, to), from);
    const at = firstDifference(low, this.low);
    if (at >= 0) out.push(`${describeLow(at)} changed: ${hex(this.low[at])} -> ${hex(low[at])}`);
    this.core.source.dataSegments.forEach(([from], i) => {
      if (firstDifference(bytes.subarray(from, from + this.data[i].length), this.data[i]) >= 0) {
        out.push(`the core's read-only data at ${hex(from)} changed`);
      }
    });
    const e = this.core.exports;
    if (!cacheUsed) out.push(...untouchedBlockCache(bytes, e.blockCacheBase(), e.blockCacheBase() + e.blockCacheBytes(), e.codePageMasks(), e.ramSize(), e.trackedFrameCounts()));
    if (this.core.vmcs(STAT_SHADOW_ROOTS_BUILT) === 0) {
      out.push(...nonZero(bytes, e.ramBase() + e.ramSize(), bytes.length, "shadow tables or TLB with no shadow built"));
    }
    return out;
  }
}

// Index of the first byte where a and b (of equal length) differ, or -1; memcmp first, as most
// comparisons find nothing.
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  for (let at = 0; at < a.length; at++) if (a[at] !== b[at]) return at;
  return -1;
}

let zeros = new Uint8Array(0);

// Bytes of [from, to) that are not zero: one message for the first.
function nonZero(bytes: Uint8Array, from: number, to: number, what: string): string[] {
  if (zeros.length < to - from) zeros = new Uint8Array(to - from);
  const region = bytes.subarray(from, to);
  const at = firstDifference(region, zeros.subarray(0, region.length));
  return at < 0 ? [] : [`${what}: byte at ${hex(from + at)} is ${hex(region[at])}`];
}

/**
 * The block cache without compiled code: zero, but for the code-page masks of the frames the
 * shadow MMU tracks as page tables (shadow.ts trackedFrameCounts), which it watches whole (all ones).
 */
function untouchedBlockCache(bytes: Uint8Array, from: number, to: number, masks: number, ramSize: number, trackedCounts: number): string[] {
  const what = "block cache with the compiling tier off and no binary translation";
  const masksEnd = masks + ((((ramSize + 0xffff) >>> 12) & ~0xf) << 3); // a u64 per page of RAM rounded up to 64 KiB (code-pages.ts)
  const tracked = (page: number) => page < ramSize >>> 12 && (bytes[trackedCounts + 2 * page] | bytes[trackedCounts + 2 * page + 1]) !== 0;
  const wrong: string[] = [];
  for (let at = masks; at < masksEnd && wrong.length === 0; at += 8) {
    const page = (at - masks) >>> 3;
    const mask = bytes.subarray(at, at + 8);
    const watchedWhole = mask.every((byte) => byte === 0xff);
    if (watchedWhole ? !tracked(page) : mask.some((byte) => byte !== 0)) {
      wrong.push(`${what}: the code-page mask of page ${hex(page)} is ${watchedWhole ? "all ones, and its frame is no page table the shadow MMU tracks" : "neither 0 nor a tracked page table's (all ones)"}`);
    }
  }
  return [...nonZero(bytes, from, masks, what), ...wrong, ...nonZero(bytes, masksEnd, to, what)];
}

function describeLow(at: number): string {
  if (at >= VMCS_BASE && at < IO_BITMAP_A) return `VMCS field ${hex((at - VMCS_BASE) & ~3)}`;
  if (at >= IO_BITMAP_A && at < IO_BITMAP_A + 0x2000) return `I/O bitmap byte ${hex(at - IO_BITMAP_A)}`;
  return `core memory at ${hex(at)}`;
}
