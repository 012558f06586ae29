// Which accesses of a block share one check (src/jit/access-checks.ts): those through the same
// address registers while none of them is written and the core is not called, within a span.
import { describe, it, expect } from "vitest";
import { planAccessChecks, accessEvents, MAX_CHECK_SPAN, type AccessEvent } from "../../src/jit/access-checks";
import { decodeBlock } from "../../src/jit/decode";

const EBX = 3, ESI = 6, EDI = 7;
const at = (base: number, disp: number, bytes = 4, write = false, index = -1, scale = 0): AccessEvent =>
  ({ kind: "access", address: { base, index, scale, disp }, bytes, write });
const register = (reg: number): AccessEvent => ({ kind: "register", reg });

describe("planAccessChecks", () => {
  it("a load and a store through the same registers: one check of both, for writing", () => {
    expect(planAccessChecks([at(EBX, 0, 4, false, EDI), register(0), at(EBX, 4, 4, true, EDI)])).toEqual([
      { leader: true, from: 0, span: 8, write: true, followed: true },
      { leader: false, of: 0 },
    ]);
  });

  it("the range reaches below the leader's own displacement when a follower does", () => {
    expect(planAccessChecks([at(5, -8), at(5, -20, 1), at(5, 8)])).toEqual([
      { leader: true, from: -12, span: 32, write: false, followed: true },
      { leader: false, of: 0 },
      { leader: false, of: 0 },
    ]);
  });

  it("displacements are compared as signed numbers", () => {
    expect(planAccessChecks([at(5, 0xfffffff8), at(5, 4)])[0]).toEqual({ leader: true, from: 0, span: 16, write: false, followed: true });
  });

  it("a write to a base or index register, or to one of its bytes, starts a new check", () => {
    expect(planAccessChecks([at(EBX, 0), register(EBX), at(EBX, 4)])[1]).toMatchObject({ leader: true });
    expect(planAccessChecks([at(EBX, 0, 4, false, EDI), register(EDI), at(EBX, 4, 4, false, EDI)])[1]).toMatchObject({ leader: true });
    expect(planAccessChecks([at(ESI, 0), register(ESI & 3), at(ESI, 4)])[1]).toEqual({ leader: false, of: 0 });
  });

  it("a call into the core starts a new check for every form", () => {
    expect(planAccessChecks([at(EBX, 0), { kind: "core" }, at(EBX, 4)])[1]).toMatchObject({ leader: true });
  });

  it("different registers, scales or no form at all are checked apart", () => {
    const plan = planAccessChecks([at(EBX, 0, 4, false, EDI, 2), at(EBX, 0, 4, false, EDI, 1), at(ESI, 0), { kind: "access", address: undefined, bytes: 4, write: true }, { kind: "access", address: undefined, bytes: 4, write: true }]);
    expect(plan.every((check) => check.leader)).toBe(true);
  });

  it("a check never spans more than MAX_CHECK_SPAN bytes: past it a new one starts and later accesses join that", () => {
    const plan = planAccessChecks([at(EBX, 0), at(EBX, MAX_CHECK_SPAN - 4), at(EBX, MAX_CHECK_SPAN), at(EBX, MAX_CHECK_SPAN + 4)]);
    expect(plan).toEqual([
      { leader: true, from: 0, span: MAX_CHECK_SPAN, write: false, followed: true },
      { leader: false, of: 0 },
      { leader: true, from: 0, span: 8, write: false, followed: true },
      { leader: false, of: 2 },
    ]);
  });

  it("absolute addresses group like a register form", () => {
    expect(planAccessChecks([at(-1, 0x20010), at(-1, 0x20000, 4, true)])[0]).toEqual({ leader: true, from: -16, span: 20, write: true, followed: true });
  });

  it("takes a block's events from its IR: accesses, then the registers written, and calls into the core", () => {
    const code = new Uint8Array(0x2000);
    // mov eax, [ebx+4]; add [ebx], al; lea ebx, [ebx+8]; push eax; cpuid; mul dword [esi]; ret
    code.set([0x8b, 0x43, 0x04, 0x00, 0x03, 0x8d, 0x5b, 0x08, 0x50, 0x0f, 0xa2, 0xf7, 0x26, 0xc3], 0x1000);
    const events = accessEvents(decodeBlock({ code, eip: 0x1000, physical: 0x1000, cpl: 0 }));
    expect(events).toMatchObject([
      at(EBX, 4), register(0),
      at(EBX, 0, 1, true),
      register(EBX),
      { kind: "access", address: undefined, bytes: 4, write: true }, register(4),
      { kind: "core" },
      at(ESI, 0), register(0), register(2),
      { kind: "access", address: undefined, bytes: 4, write: false }, register(4),
    ]);
  });
});
