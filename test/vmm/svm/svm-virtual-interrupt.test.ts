// L1's virtual interrupt for L2 (V_IRQ, V_INTR_VECTOR, V_INTR_PRIO/V_TPR/V_IGN_TPR, the VINTR
// intercept) and the interrupt shadow in the VMCB, on the real core, as the APM (Vol. 2 15.21.4,
// 15.20) and Bochs (VirtualInterruptAcknowledge, Svm_Vmexit) have them. guests/svmentry.elf checks
// the same against Bochs.
import { describe, expect, it } from "vitest";
import * as B from "../../../src/vmm/svm/vmcb.js";
import { record } from "../nested/vmx-guest.js";
import { L2_STACK, VMCB, field, or, runSvmL2, set } from "./svm-guest.js";

const VMMCALL = 0x81, VINTR = 0x64;
const IGN_TPR = 1 << 20;
/** Vector 0x40's gate in L2's IDT (L1's, at 0x3000) points at label `l2int`. */
const GATE_40 = "mov $l2int, %eax\nmov %ax, 0x3200\nmovw $8, 0x3202\nmovw $0x8e00, 0x3204\nshr $16, %eax\nmov %ax, 0x3206";
/** A virtual interrupt for vector 0x40 with the given V_INTR word (V_IRQ added). */
const virtualInterrupt = (control: number) => [GATE_40, set(B.V_INTR, control | B.V_IRQ), set(B.V_INTR_VECTOR, 0x40)];
/** L2's handler: calls L1 with EAX = ECX (what L2 had done when the interrupt came). */
const HANDLER = ["l2int:", "mov %ecx, %eax\nvmmcall"];
const IF = 0x202;
/** Records V_IRQ (bit 8 of V_INTR) as 0 or 1. */
const V_IRQ_BIT = `mov ${VMCB + B.V_INTR}, %ebx\nshr $8, %ebx\nand $1, %ebx\n${record("%ebx")}`;

describe("V_IRQ", () => {
  it("with L2's IF set is taken at once, through L2's IDT at the VMCB's RIP; V_IRQ is clear after the #VMEXIT", async () => {
    const run = await runSvmL2({
      setup: [...virtualInterrupt(IGN_TPR), set(B.SAVE_RFLAGS, IF), "mov $0x55, %ecx"],
      l2: ["mov $1, %ecx"],
      extra: HANDLER,
      onExit: [field(B.SAVE_RAX), V_IRQ_BIT, `mov ${L2_STACK - 12}, %ebx\ncmp $l2, %ebx\nsete %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([VMMCALL, 0x55, 0, 1]);
  });

  it("with L2's IF clear waits for STI and the instruction in its shadow", async () => {
    const run = await runSvmL2({
      setup: [...virtualInterrupt(IGN_TPR)],
      l2: ["xor %ecx, %ecx\ninc %ecx\nsti\ninc %ecx\ninc %ecx\ninc %ecx"],
      extra: HANDLER,
      onExit: [field(B.SAVE_RAX), V_IRQ_BIT],
    });
    expect(run.results).toEqual([VMMCALL, 2, 0]);
  });

  it("L2 that never sets IF never takes it: V_IRQ is still set at the #VMEXIT", async () => {
    const run = await runSvmL2({ setup: [...virtualInterrupt(IGN_TPR), "mov $0x55, %ecx"], l2: ["mov $3, %eax"], extra: HANDLER, onExit: [field(B.SAVE_RAX), V_IRQ_BIT] });
    expect(run.results).toEqual([VMMCALL, 3, 1]);
  });

  it("V_INTR_PRIO not above V_TPR masks it; one above lets it in", async () => {
    const masked = await runSvmL2({ setup: [...virtualInterrupt((2 << 16) | 2), set(B.SAVE_RFLAGS, IF)], l2: ["mov $3, %eax"], extra: HANDLER, onExit: [field(B.SAVE_RAX), V_IRQ_BIT] });
    expect(masked.results).toEqual([VMMCALL, 3, 1]);
    const taken = await runSvmL2({ setup: [...virtualInterrupt((3 << 16) | 2), set(B.SAVE_RFLAGS, IF), "mov $0x55, %ecx"], l2: ["mov $3, %eax"], extra: HANDLER, onExit: [field(B.SAVE_RAX), V_IRQ_BIT] });
    expect(taken.results).toEqual([VMMCALL, 0x55, 0]);
  });

  it("under the VINTR intercept it is #VMEXIT 64h when L2 could take it (no nRIP), V_IRQ still set, nothing delivered", async () => {
    const run = await runSvmL2({
      setup: [...virtualInterrupt(IGN_TPR), or(B.INTERCEPTS_1, B.INTERCEPT_VINTR)],
      l2: ["xor %ecx, %ecx\nsti\ninc %ecx\nvintr_at:\ninc %ecx"],
      extra: HANDLER,
      endOn: [VINTR],
      onExit: [V_IRQ_BIT, field(B.NRIP), `mov ${VMCB + B.SAVE_RIP}, %ebx\ncmp $vintr_at, %ebx\nsete %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`],
      after: [`mov %ecx, %ebx\n${record("%ebx")}`],
    });
    expect(run.results).toEqual([VINTR, 1, 0, 1, 1]);
  });

  it("waits while L2 has GIF clear (its own CLGI, not intercepted), whatever IF says, and comes after its STGI", async () => {
    const run = await runSvmL2({
      setup: [...virtualInterrupt(IGN_TPR)],
      l2: ["xor %ecx, %ecx\nclgi\nsti\ninc %ecx\ninc %ecx\nstgi\ninc %ecx\ninc %ecx"],
      extra: HANDLER,
      onExit: [field(B.SAVE_RAX), V_IRQ_BIT],
    });
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.results).toEqual([VMMCALL, 2, 0]);
  });

  it("wakes L2 that halts with IF set (after STI): the HLT completes and the interrupt comes after it", async () => {
    const run = await runSvmL2({
      setup: [...virtualInterrupt(IGN_TPR)],
      l2: ["sti\nhlt\nafter_hlt:"],
      extra: ["l2int:", "mov (%esp), %eax\nvmmcall"],
      onExit: [`mov ${VMCB + B.SAVE_RAX}, %ebx\ncmp $after_hlt, %ebx\nsete %bl\nmovzbl %bl, %ebx\n${record("%ebx")}`],
    });
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.results).toEqual([VMMCALL, 1]);
  });
});

describe("the interrupt shadow", () => {
  it("INTERRUPT_SHADOW set at VMRUN holds the virtual interrupt for L2's first instruction", async () => {
    const run = await runSvmL2({
      setup: [...virtualInterrupt(IGN_TPR), set(B.SAVE_RFLAGS, IF), set(B.INTERRUPT_SHADOW, 1)],
      l2: ["mov $1, %ecx\nmov $2, %ecx"],
      extra: HANDLER,
      onExit: [field(B.SAVE_RAX)],
    });
    expect(run.results).toEqual([VMMCALL, 1]);
  });

  it("a #VMEXIT in STI's shadow sets INTERRUPT_SHADOW; one after it clears it", async () => {
    const inShadow = await runSvmL2({ l2: ["sti"], onExit: [field(B.INTERRUPT_SHADOW)] });
    expect(inShadow.results).toEqual([VMMCALL, 1]);
    const after = await runSvmL2({ setup: [set(B.INTERRUPT_SHADOW, 1)], l2: ["sti\nnop"], onExit: [field(B.INTERRUPT_SHADOW)] });
    expect(after.results).toEqual([VMMCALL, 0]);
  });
});
