// What binary translation did (--if-mode bt; docs/design.md, "Binary translation"): the counts the
// core keeps in the VMCS statistics area (assembly/bt/): blocks translated and their bytes,
// translations forgotten because the guest wrote their code, and per rewrite kind the times
// translated code performed it, inline against the virtual CPU or as a callout to the VMM's
// emulation. Read whole by VirtualMachine.statistics() for `--stats` and `--stats-json`.

import {
  BT_CLI, BT_CONTROL_REGISTER, BT_DEBUG_REGISTER, BT_FIRST_CALLOUT, BT_INTERRUPT_DELIVERY, BT_IRET, BT_POPF,
  BT_PRIVILEGE_CHECK, BT_PUSHF, BT_SEGMENT_READ, BT_STATE_READ, BT_STI, BT_TABLE_LOAD, STAT_BT_BLOCKS_LO,
  STAT_BT_BYTES_LO, STAT_BT_INVALIDATIONS_LO, STAT_BT_KINDS_LO,
} from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";

/** The rewrites, in the order --stats lists them: the kind's number in the core and its name. */
export const REWRITES: ReadonlyArray<readonly [kind: number, name: string]> = [
  [BT_CLI, "CLI"],
  [BT_STI, "STI"],
  [BT_PUSHF, "PUSHF"],
  [BT_POPF, "POPF"],
  [BT_STATE_READ, "SGDT SIDT SLDT STR SMSW"],
  [BT_SEGMENT_READ, "MOV/PUSH of CS or SS, far CALL"],
  [BT_PRIVILEGE_CHECK, "LAR LSL VERR VERW"],
  [BT_CONTROL_REGISTER, "MOV CR, CLTS, LMSW"],
  [BT_DEBUG_REGISTER, "MOV DR"],
  [BT_TABLE_LOAD, "LGDT LIDT LLDT LTR"],
  [BT_IRET, "IRET"],
  [BT_INTERRUPT_DELIVERY, "interrupt delivery"],
];

export interface RewriteCount {
  name: string;
  /** Times translated code performed it. */
  count: number;
}

export interface TranslationStatistics {
  /** Basic blocks translated (again after an invalidation; an instruction running past its page each time it runs). */
  blocks: number;
  bytes: number;
  /** Translations forgotten because the guest wrote into their code. */
  invalidations: number;
  /** Rewrites performed in the translated code against the virtual CPU, with no exit. */
  inline: RewriteCount[];
  /** Rewrites that called out to the VMM's emulation (the translated block ends there). */
  callouts: RewriteCount[];
}

export function readTranslationStatistics(vmcs: Vmcs): TranslationStatistics {
  const count = ([kind, name]: readonly [number, string]) => ({ name, count: vmcs.u64(STAT_BT_KINDS_LO + 8 * (kind - 1)) });
  return {
    blocks: vmcs.u64(STAT_BT_BLOCKS_LO),
    bytes: vmcs.u64(STAT_BT_BYTES_LO),
    invalidations: vmcs.u64(STAT_BT_INVALIDATIONS_LO),
    inline: REWRITES.filter((r) => !isCallout(r)).map(count),
    callouts: REWRITES.filter(isCallout).map(count),
  };
}

const isCallout = ([kind]: readonly [number, string]) => kind >= BT_FIRST_CALLOUT;

/** The counts' names as one flat list: "blocks", "bytes", "invalidations", then "inline NAME" and "callout NAME" per rewrite kind. */
export const TRANSLATION_COUNTERS: readonly string[] = [
  "blocks",
  "bytes",
  "invalidations",
  ...REWRITES.filter((r) => !isCallout(r)).map(([, name]) => `inline ${name}`),
  ...REWRITES.filter(isCallout).map(([, name]) => `callout ${name}`),
];

/** The counts in the order of TRANSLATION_COUNTERS. */
export function translationCounters(stats: TranslationStatistics): number[] {
  return [stats.blocks, stats.bytes, stats.invalidations, ...stats.inline.map((r) => r.count), ...stats.callouts.map((r) => r.count)];
}

/** Each rewrite kind's count under its TRANSLATION_COUNTERS name ("inline CLI", "callout IRET"), without blocks, bytes and invalidations. */
export function rewriteCounts(stats: TranslationStatistics): Array<[name: string, count: number]> {
  const counts = translationCounters(stats);
  return TRANSLATION_COUNTERS.map((name, i): [string, number] => [name, counts[i]]).filter(([name]) => /^(inline|callout) /.test(name));
}
