// L0's SVM instructions other than VMRUN's entry, on the real core, with the APM's outcomes:
// rAX checks (#GP(0)), VMLOAD and VMSAVE's state, VMMCALL without an intercept, STGI and CLGI
// outside a guest, INVLPGA, and a machine that cannot be saved while L2 runs or GIF is clear.
import { describe, expect, it } from "vitest";
import { EXIT_SVM_CLGI, EXIT_SVM_STGI, G_MSR_SYSENTER_CS, SR_FS } from "../../../assembly/vmcs-layout.js";
import { UnsaveableStateError } from "../../../src/devices/saved-values.js";
import { saveMachine } from "../../../src/vmm/saved-state.js";
import * as B from "../../../src/vmm/svm/vmcb.js";
import { GP, REGION_C, UD, record, runVmxGuest, step } from "../nested/vmx-guest.js";
import { HSAVE, SVM_OPTIONS, VMCB, field, runSvmL2, set } from "./svm-guest.js";

const SVME = "mov $0xc0000080, %ecx\nrdmsr\nor $0x1000, %eax\nwrmsr";
const hsaveAt = (address: number) => `mov $0xc0010117, %ecx\nmov $${address}, %eax\nxor %edx, %edx\nwrmsr`;
const runSteps = (body: string[]) => runVmxGuest([SVME, hsaveAt(HSAVE), ...body], SVM_OPTIONS, false);

describe("rAX and the host save area", () => {
  it("VMRUN, VMLOAD and VMSAVE with rAX unaligned or its page outside RAM raise #GP(0) and change nothing", async () => {
    const run = await runSteps([
      ...["vmrun", "vmload", "vmsave"].flatMap((op) => [step(`mov $${VMCB + 8}, %eax\n${op}`), step(`mov $0x7ff000, %eax\n${op}`), step(`mov $0xfffff000, %eax\n${op}`)]),
    ]);
    // 8 MiB of RAM: 7FF000h is its last page (in RAM), FFFFF000h is not.
    // VMRUN of the last page: VMEXIT_INVALID (a zeroed VMCB has no VMRUN intercept), no fault.
    expect(run.results).toEqual([GP, 0, GP, GP, 0, GP, GP, 0, GP]);
  });

  it("VMRUN with the host save area outside RAM raises #GP(0) (as KVM answers a page it cannot map)", async () => {
    const run = await runSteps([hsaveAt(0x900000), step(`mov $${VMCB}, %eax\nvmrun`)]);
    expect(run.results).toEqual([GP]);
  });

  it("VMRUN saves L1's state in the host save area in the state-save layout, the RIP after VMRUN", async () => {
    const run = await runSvmL2({ l2: [], after: [field(B.SAVE_RIP + (HSAVE - VMCB)), field(B.SAVE_EFER + (HSAVE - VMCB)), field(B.SAVE_CR3 + (HSAVE - VMCB)), field(B.SAVE_ES + 0x10 + (HSAVE - VMCB))] });
    const [code, rip, efer, cr3, cs] = run.results;
    expect(code).toBe(0x81);
    expect(efer).toBe(0x1000);
    expect(cr3).toBe(0x10000);
    expect(cs).toBe(8 | (0xc9b << 16));
    expect(rip).toBeGreaterThan(0x100000); // after L1's VMRUN, in its code
  });
});

describe("VMLOAD and VMSAVE", () => {
  it("VMSAVE writes FS, GS, TR, LDTR and the SYSENTER MSRs; VMLOAD loads them", async () => {
    const run = await runSteps([
      "mov $0x10, %ax\nmov %ax, %fs",
      "mov $0x174, %ecx\nmov $0x8, %eax\nxor %edx, %edx\nwrmsr",
      step(`mov $${REGION_C}, %eax\nvmsave`),
      `mov ${REGION_C + B.SAVE_FS}, %ebx\n${record("%ebx")}`, `mov ${REGION_C + B.SAVE_FS + 4}, %ebx\n${record("%ebx")}`,
      `mov ${REGION_C + B.SAVE_SYSENTER_CS}, %ebx\n${record("%ebx")}`,
      // A VMCB whose FS is selector 0x10 based at 0x6100, and SYSENTER_CS 0x42
      set(B.SAVE_FS, 0x10 | (0xc93 << 16)), set(B.SAVE_FS + 4, 0xffffffff), set(B.SAVE_FS + 8, 0x6100), set(B.SAVE_SYSENTER_CS, 0x42),
      step(`mov $${VMCB}, %eax\nvmload`),
      "movl $0xabcd, %fs:0", `mov 0x6100, %ebx\n${record("%ebx")}`,
      `mov $0x174, %ecx\nrdmsr\n${record("%eax")}`,
    ]);
    expect(run.results).toEqual([0, 0x10 | (0xc93 << 16), 0xffffffff, 8, 0, 0xabcd, 0x42]);
    expect(run.vm.vmcs.segment(SR_FS).base).toBe(0x6100);
    expect(run.vm.vmcs.get(G_MSR_SYSENTER_CS)).toBe(0x42);
  });
});

describe("outside a guest", () => {
  it("VMMCALL is #UD (no hypervisor intercepts it); STGI, CLGI and INVLPGA complete", async () => {
    const run = await runSteps([step("vmmcall"), step("clgi"), step("stgi"), "mov $0x1000, %eax\nxor %ecx, %ecx", step("invlpga")]);
    expect(run.results).toEqual([UD, 0, 0, 0]);
  });

  it("L1's CLGI and STGI with no interrupt waiting complete in the core, with no exit (a virtual GIF); GIF is what the last one left", async () => {
    const run = await runSteps(["clgi", "stgi", "clgi"]);
    expect(run.vm.stats.count(EXIT_SVM_STGI) + run.vm.stats.count(EXIT_SVM_CLGI)).toBe(0);
    expect(run.vm.interrupts.globalInterruptFlag).toBe(false);
  });

  it("without --nested svm EFER.SVME cannot be set, so each SVM instruction is #UD", async () => {
    const run = await runVmxGuest([step(SVME), step("clgi")], { cpu: "amd" }, false);
    expect(run.results).toEqual([GP, UD]);
  });
});

describe("saving the machine", () => {
  it("is refused with a message while L2 runs and while GIF is clear, and works once L1 sets it", async () => {
    const run = await runSvmL2({ l2: ["hlt"], setup: [`orl $${B.INTERCEPT_HLT}, ${VMCB + B.INTERCEPTS_1}`], endOn: [0x78] });
    // The run ended after L1 saw the HLT #VMEXIT: GIF is clear.
    expect(() => saveMachine(run.vm)).toThrow(UnsaveableStateError);
    expect(() => saveMachine(run.vm)).toThrow(/global interrupt flag/);
    run.vm.interrupts.globalInterruptFlag = true;
    expect(() => saveMachine(run.vm)).not.toThrow();
    run.vm.svm.l2 = { vmcb: VMCB, hsave: HSAVE, holdsInterrupts: false, virtualMasking: false, hostInterrupts: false, virtualInterrupt: undefined };
    expect(() => saveMachine(run.vm)).toThrow(/L2/);
  });
});
