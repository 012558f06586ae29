// The exit path (exit-dispatcher.ts): every exit is counted and shown to subscribers, then offered
// to the pre-dispatch stages in order; one that claims it keeps it from the handler table, and an
// exit no stage claims goes to its reason's handler.
import { describe, expect, it } from "vitest";
import { EXIT_CPUID, EXIT_IO, EXIT_TRIPLE_FAULT, G_EIP, X_INSTRUCTION_LENGTH } from "../../assembly/vmcs-layout.js";
import { Reg } from "../../src/core/vmcs.js";
import { handleCpuid } from "../../src/vmm/exits/cpuid.js";
import { textWord } from "../../src/vmm/hypervisor-identity.js";
import { handleIo } from "../../src/vmm/exits/io.js";
import { exitHandlers } from "../../src/vmm/exits/table.js";
import { ExitDispatcher, type ExitStage, type LevelStage } from "../../src/vmm/exit-dispatcher.js";
import { formatExitTrace, type ExitEvent } from "../../src/vmm/exit-event.js";
import type { ExitContext } from "../../src/vmm/exits/exit-context.js";
import { FakeContext } from "./exits/fake-context.js";

/** A stage that records what it was offered and claims the reasons in `claims`. */
function recordingStage(seen: string[], name: string, claims: number[]): ExitStage {
  return (_vm: ExitContext, reason: number) => {
    seen.push(`${name} ${reason}`);
    return claims.includes(reason);
  };
}

describe("ExitDispatcher", () => {
  it("without stages hands each exit to its handler, after counting it", () => {
    const vm = new FakeContext();
    new ExitDispatcher(vm, undefined).dispatch(EXIT_TRIPLE_FAULT);
    expect(vm.stops).toEqual([{ kind: "triple-fault" }]);
    expect(vm.stats.count(EXIT_TRIPLE_FAULT)).toBe(1);
  });

  it("calls the I/O and CPUID handlers the table names, directly, with and without a subscriber", () => {
    expect(exitHandlers[EXIT_IO]).toBe(handleIo);
    expect(exitHandlers[EXIT_CPUID]).toBe(handleCpuid);
    const vm = new FakeContext();
    const dispatcher = new ExitDispatcher(vm, undefined);
    const seen: string[] = [];
    for (const subscribed of [false, true]) {
      const unsubscribe = subscribed ? dispatcher.onExit((exit) => seen.push(exit.name)) : () => {};
      vm.vmcs.setReg(Reg.EAX, 0);
      vm.vmcs.setReg(Reg.EBX, 0);
      vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
      const eip = vm.vmcs.get(G_EIP);
      dispatcher.dispatch(EXIT_CPUID);
      unsubscribe();
      expect(vm.vmcs.reg(Reg.EBX)).toBe(textWord("GenuineIntel", 0));
      expect(vm.vmcs.get(G_EIP)).toBe(eip + 2);
    }
    expect(seen).toEqual(["CPUID"]);
    expect(vm.stats.count(EXIT_CPUID)).toBe(2);
  });

  it("ends the run on a reason without a handler", () => {
    const vm = new FakeContext();
    new ExitDispatcher(vm, undefined).dispatch(29);
    expect(vm.stops).toEqual([{ kind: "unhandled-exit", reason: 29, name: "reason 29" }]);
  });

  it("keeps an exit a stage claims from the stages after it and from the handler table", () => {
    const vm = new FakeContext();
    const seen: string[] = [];
    const dispatcher = new ExitDispatcher(vm, undefined, [recordingStage(seen, "first", [EXIT_TRIPLE_FAULT]), recordingStage(seen, "second", [])]);
    dispatcher.dispatch(EXIT_TRIPLE_FAULT);
    expect(seen).toEqual([`first ${EXIT_TRIPLE_FAULT}`]);
    expect(vm.stops).toEqual([]);
    expect(vm.stats.count(EXIT_TRIPLE_FAULT)).toBe(1); // still counted: it happened
  });

  it("lets an exit no stage claims through to its handler", () => {
    const vm = new FakeContext();
    const seen: string[] = [];
    const dispatcher = new ExitDispatcher(vm, undefined, [recordingStage(seen, "first", [EXIT_CPUID]), recordingStage(seen, "second", [])]);
    dispatcher.dispatch(EXIT_TRIPLE_FAULT);
    expect(seen).toEqual([`first ${EXIT_TRIPLE_FAULT}`, `second ${EXIT_TRIPLE_FAULT}`]);
    expect(vm.stops).toEqual([{ kind: "triple-fault" }]);
  });

  it("shows subscribers every exit before any stage, claimed or not, until they unsubscribe", () => {
    const vm = new FakeContext();
    const seen: string[] = [];
    const dispatcher = new ExitDispatcher(vm, undefined, [recordingStage(seen, "stage", [EXIT_CPUID])]);
    const unsubscribe = dispatcher.onExit((exit) => seen.push(`listener ${exit.name}`));
    dispatcher.dispatch(EXIT_CPUID);
    unsubscribe();
    dispatcher.dispatch(EXIT_CPUID);
    expect(seen).toEqual(["listener CPUID", `stage ${EXIT_CPUID}`, `stage ${EXIT_CPUID}`]);
  });

  it("under nesting, tells L1's exits, L2's that L0 handles and L2's reflected into L1 apart: in the events, the trace and the counts", () => {
    const vm = new FakeContext();
    const dispatcher = new ExitDispatcher(vm, undefined, [], undefined, undefined, true);
    const events: ExitEvent[] = [];
    dispatcher.onExit((exit) => events.push(exit));
    const handled: string[] = [];
    // L1 asks for CPUID only; L0 keeps the triple fault of this stand-in L2 to itself.
    const stage: LevelStage = {
      runs: (vm) => vm.vmx.l2 !== undefined,
      reflects: (_vm, reason) => reason === EXIT_CPUID,
      handle: (_vm, reason, reflected) => void handled.push(`${reason} ${reflected ? "reflected" : "L0"}`),
    };
    vm.vmcs.setReg(Reg.EAX, 0);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, 2);
    dispatcher.setLevelStage(stage);
    dispatcher.dispatch(EXIT_CPUID); // L1's own: its handler answers it
    vm.vmx.l2 = 0x10000; // L2 runs: the stage sees its exits
    dispatcher.dispatch(EXIT_CPUID);
    dispatcher.dispatch(EXIT_IO);
    dispatcher.reflectHeldInterrupt(1);
    vm.vmx.l2 = undefined;

    expect(handled).toEqual([`${EXIT_CPUID} reflected`, `${EXIT_IO} L0`]);
    expect(events.map((e) => [e.reason, e.nesting])).toEqual([
      [EXIT_CPUID, { level: 1, reflected: false }],
      [EXIT_CPUID, { level: 2, reflected: true }],
      [EXIT_IO, { level: 2, reflected: false }],
      [1, { level: 2, reflected: true }],
    ]);
    expect(events.map((e) => formatExitTrace(e).split(/\s+/)[2])).toEqual(["L1", "L2->L1", "L2", "L2->L1"]);
    const counts = (list: { reason: number; count: number }[]) => list.map(({ reason, count }) => [reason, count]);
    const levels = vm.stats.levels()!;
    expect(counts(levels.l1)).toEqual([[EXIT_CPUID, 1]]);
    expect(counts(levels.l2)).toEqual([[EXIT_IO, 1]]);
    expect(counts(levels.reflected)).toEqual([[1, 1], [EXIT_CPUID, 1]]);
    // The held interrupt is what L1 saw, but no exit of the core's.
    expect(vm.stats.total).toBe(3);
  });

  it("without nesting, shows no level and keeps no levels", () => {
    const vm = new FakeContext();
    const dispatcher = new ExitDispatcher(vm, undefined);
    const events: ExitEvent[] = [];
    dispatcher.onExit((exit) => events.push(exit));
    dispatcher.dispatch(EXIT_TRIPLE_FAULT);
    expect(events[0].nesting).toBeUndefined();
    expect(formatExitTrace(events[0])).toMatch(/^exit +\d+  triple fault/);
    expect(vm.stats.levels()).toBeUndefined();
  });
});
