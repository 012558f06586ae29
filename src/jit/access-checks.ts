// Which memory accesses of a block share one check. Every compiled access must be checked (plain
// RAM, and with paging a TLB entry allowing it) before it is made, and that check is most of what
// a load or store costs. Accesses through the same address registers, with none of those
// registers written in between and no call into the core in between (it may change the TLB),
// lie at fixed distances from each other: `mov (%ebx,%edi), %eax ... mov %eax, 4(%ebx,%edi)`,
// or a C function's locals off %ebp. The first of them (the leader) checks the whole range they
// span, with write permission if any of them writes, and the others (followers) use its answer.
// When the range fails the check the block leaves at the leader, and the interpreter goes on; if
// the leader alone would have passed, the core is told it was no stall (assembly/jit/block-cache.ts
// rangeExit), so a block whose range straddles a page's end for a while does not rest.

import type { Address } from "../x86/encoding.js";
import { type Instruction, EFFECTS, isMemory, isRegister } from "./ir.js";

/** What a block does, in order, that matters to the checks. */
export type AccessEvent =
  | { kind: "access"; address: Address | undefined; bytes: number; write: boolean } // undefined: check alone
  | { kind: "register"; reg: number } // a write to a 32-bit register (a byte register's number & 3)
  | { kind: "core" }; // a call into the core

/** For each access: a leader checks `span` bytes from its own address + `from`; a follower uses leader `of`'s check. */
export type AccessCheck =
  | { leader: true; from: number; span: number; write: boolean; followed: boolean }
  | { leader: false; of: number };

/**
 * The widest range one check covers: wider ranges would cross a page (and leave the block) more
 * often than their accesses alone do.
 */
export const MAX_CHECK_SPAN = 64;

/**
 * The events of a block, in the order translate.ts emits them: an instruction's accesses (its
 * sources before the operand it writes: MOVS reads [ESI], then writes [EDI]; then the stack's),
 * before its register writes.
 */
export function accessEvents(block: readonly Instruction[]): AccessEvent[] {
  const events: AccessEvent[] = [];
  for (const { op, operands } of block) {
    const effects = EFFECTS[op], first = operands[0];
    // a register bit offset moves a BT's access by a multiple of its size: it shares no check
    const alone = effects.offsetAddressed === true && operands[1] !== undefined && isRegister(operands[1]);
    // the memory operands, the first (the one written) last
    for (let i = 1; i <= operands.length && !effects.addressOnly; i++) {
      const memory = operands[i % operands.length];
      if (!isMemory(memory)) continue;
      events.push({ kind: "access", address: alone ? undefined : memory, bytes: memory.bytes, write: i === operands.length && effects.writesFirst === true });
    }
    // a core call comes after the operands the block reads for it (MOV Sreg's selector)
    if (effects.core) { events.push({ kind: "core" }); continue; }
    if (effects.stack) events.push({ kind: "access", address: undefined, bytes: effects.stackBytes ?? 4, write: effects.stack === "push" });
    if (effects.writesFirst && isRegister(first)) events.push({ kind: "register", reg: first.bytes === 1 ? first.reg & 3 : first.reg });
    if (effects.implicit) for (const reg of effects.implicit) events.push({ kind: "register", reg });
  }
  return events;
}

interface Group { leader: number; disp: number; lo: number; hi: number; write: boolean; followed: boolean; form: Address }

export function planAccessChecks(events: readonly AccessEvent[]): AccessCheck[] {
  const groups: Group[] = [];
  const groupOf: number[] = []; // by access
  const open = new Map<string, number>(); // address registers -> the group their accesses join
  for (const event of events) {
    if (event.kind === "core") {
      open.clear();
    } else if (event.kind === "register") {
      for (const [key, g] of open) if (groups[g].form.base === event.reg || groups[g].form.index === event.reg) open.delete(key);
    } else {
      const access = groupOf.length, form = event.address;
      const disp = form ? form.disp | 0 : 0, lo = disp, hi = disp + event.bytes;
      const key = form && `${form.base} ${form.index} ${form.scale}`;
      const g = key === undefined ? undefined : open.get(key);
      const joined = g === undefined ? undefined : groups[g];
      if (joined && Math.max(joined.hi, hi) - Math.min(joined.lo, lo) <= MAX_CHECK_SPAN) {
        joined.lo = Math.min(joined.lo, lo);
        joined.hi = Math.max(joined.hi, hi);
        joined.write ||= event.write;
        joined.followed = true;
        groupOf.push(g!);
        continue;
      }
      if (key !== undefined) open.set(key, groups.length);
      groupOf.push(groups.length);
      groups.push({ leader: access, disp, lo, hi, write: event.write, followed: false, form: form ?? { base: -1, index: -1, scale: 0, disp } });
    }
  }
  return groupOf.map((g, access) => {
    const group = groups[g];
    if (group.leader !== access) return { leader: false, of: group.leader };
    return { leader: true, from: group.lo - group.disp, span: group.hi - group.lo, write: group.write, followed: group.followed };
  });
}
