// The VMX instructions on the real core under --nested vmx, from a tiny guest hypervisor (L1):
// each instruction's success and failure paths with the SDM's outcome (Vol. 3C chapter 31): the
// exception, or VMsucceed / VMfailInvalid / VMfailValid and the VM-instruction error number.
import { describe, expect, it } from "vitest";
import * as L from "../../../assembly/vmcs-layout.js";
import { exitsOf } from "../../support/tiny-guest.js";
import { readInterpretedForms } from "../../../src/vmm/interpreted-forms.js";
import {
  FAIL_INVALID, FAIL_VALID, GP, PF, REGION_A, REGION_B, REGION_C, SUCCEED, UD,
  RESUME, operand, pointer, record, recordError, runVmxGuest, runVmxGuest as runVmxGuestWith, step,
} from "./vmx-guest.js";

const vmxon = (slot = 0) => step(`vmxon ${operand(slot)}`);
const vmptrld = (slot: number) => step(`vmptrld ${operand(slot)}`);
const vmclear = (slot: number) => step(`vmclear ${operand(slot)}`);
/** VMWRITE of `value` to field `encoding`. */
const vmwrite = (encoding: number, value: number) => `mov $${encoding}, %eax\nmov $${value >>> 0}, %ebx\n${step("vmwrite %ebx, %eax")}`;
/** VMREAD of field `encoding`, then its value recorded. */
const vmread = (encoding: number) => `mov $${encoding}, %eax\nmov $0xcccccccc, %ebx\n${step("vmread %eax, %ebx")}\n${record("%ebx")}`;

describe("VMXON", () => {
  it("enters VMX operation with a good region (VMsucceed), then fails with error 15 (VMfailInvalid without a current VMCS)", async () => {
    const run = await runVmxGuest([pointer(0, REGION_A), vmxon(), vmxon()]);
    expect(run.results).toEqual([SUCCEED, FAIL_INVALID]);
    expect(exitsOf(run, L.EXIT_VMXON)).toHaveLength(2);
    expect(run.vm.vmx.inVmxOperation).toBe(true);
  });

  it("in VMX operation with a current VMCS: VMfailValid 15", async () => {
    const run = await runVmxGuest([pointer(0, REGION_A), pointer(1, REGION_B), vmxon(), vmptrld(1), vmxon(), recordError]);
    expect(run.results).toEqual([SUCCEED, SUCCEED, FAIL_VALID, 15]);
  });

  it.each([
    ["not page-aligned", REGION_A + 8, 0],
    ["past 32 bits", REGION_A, 1],
    ["outside RAM", 0x7fff000, 0],
    ["a region without our revision ID", 0x30000, 0],
  ])("VMfailInvalid for a pointer %s", async (_what, low, high) => {
    const run = await runVmxGuest([pointer(0, low, high), vmxon()]);
    expect(run.results).toEqual([FAIL_INVALID]);
    expect(run.vm.vmx.inVmxOperation).toBe(false);
  });

  it("VMfailInvalid for a region with the shadow-VMCS bit (31) set: shadowing is not offered", async () => {
    const run = await runVmxGuest([`orl $0x80000000, ${REGION_A}`, pointer(0, REGION_A), vmxon()]);
    expect(run.results).toEqual([FAIL_INVALID]);
  });

  it("#UD with CR4.VMXE clear, and without --nested vmx even the CR4 write is refused (#GP)", async () => {
    const clear = await runVmxGuest([pointer(0, REGION_A), vmxon()], { nested: "vmx" }, false);
    expect(clear.results).toEqual([UD]);
    expect(exitsOf(clear, L.EXIT_VMXON)).toHaveLength(0); // the core raises it: no exit
    const off = await runVmxGuest(["mov %cr4, %eax\nor $0x2000, %eax", step("mov %eax, %cr4"), pointer(0, REGION_A), vmxon()], { nested: "off" }, false);
    expect(off.results).toEqual([GP, UD]);
  });

  it("#GP(0) when CR0.NE is clear (IA32_VMX_CR0_FIXED0)", async () => {
    const run = await runVmxGuest(["mov %cr0, %eax\nand $~0x20, %eax", step("mov %eax, %cr0"), pointer(0, REGION_A), vmxon()]);
    expect(run.results).toEqual([SUCCEED, GP]);
  });

  it("#PF when the pointer's memory is not mapped", async () => {
    const run = await runVmxGuest([step("vmxon 0x800000")]);
    expect(run.results).toEqual([PF]);
    expect(run.vm.vmcs.get(L.G_CR2)).toBe(0x800000);
  });
});

describe("in VMX operation", () => {
  it("CR4.VMXE and CR0.PE/NE cannot be cleared (#GP); after VMXOFF they can", async () => {
    const run = await runVmxGuest([
      pointer(0, REGION_A), vmxon(),
      "mov %cr4, %eax\nand $~0x2000, %eax", step("mov %eax, %cr4"),
      "mov %cr0, %eax\nand $~0x20, %eax", step("mov %eax, %cr0"),
      "mov %cr0, %eax\nand $~0x1, %eax", step("mov %eax, %cr0"),
      "mov %cr0, %eax", record("%eax"),
      step("vmxoff"),
      "mov %cr0, %eax\nand $~0x20, %eax", step("mov %eax, %cr0"),
      "mov %cr4, %eax\nand $~0x2000, %eax", step("mov %eax, %cr4"),
      "mov %cr0, %eax", record("%eax"),
    ]);
    expect(run.results).toEqual([SUCCEED, GP, GP, GP, 0x80000031, SUCCEED, SUCCEED, SUCCEED, 0x80000011]);
  });

  it("VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH and VMRESUME raise #UD outside VMX operation", async () => {
    const run = await runVmxGuest([
      pointer(0, REGION_B),
      step("vmxoff"), vmclear(0), vmptrld(0), step(`vmptrst ${operand(1)}`),
      step("vmread %eax, %ebx"), step("vmwrite %ebx, %eax"), step("vmlaunch"), step("vmresume"),
    ]);
    expect(run.results).toEqual([UD, UD, UD, UD, UD, UD, UD, UD]);
    // Each exits to L0, which raises the #UD (the core cannot know L1's VMX operation).
    expect(exitsOf(run, L.EXIT_VMXOFF)).toHaveLength(1);
    expect(exitsOf(run, L.EXIT_VMREAD)).toHaveLength(1);
  });
});

describe("VMPTRLD, VMPTRST and VMCLEAR", () => {
  const storedPointer = `mov ${operand(2)}, %eax\n${record("%eax")}\nmov ${operand(2)}+4, %eax\n${record("%eax")}`;

  it("load a current VMCS, store its pointer, and clear it (the current pointer becomes invalid)", async () => {
    const run = await runVmxGuest([
      pointer(0, REGION_A), pointer(1, REGION_B), vmxon(),
      step(`vmptrst ${operand(2)}`), storedPointer,
      vmptrld(1),
      step(`vmptrst ${operand(2)}`), storedPointer,
      vmclear(1),
      step(`vmptrst ${operand(2)}`), storedPointer,
    ]);
    expect(run.results).toEqual([SUCCEED, SUCCEED, 0xffffffff, 0xffffffff, SUCCEED, SUCCEED, REGION_B, 0, SUCCEED, SUCCEED, 0xffffffff, 0xffffffff]);
    expect(run.vm.vmx.currentVmcs).toBe(-1);
  });

  it.each([
    ["VMPTRLD", "vmptrld", REGION_A + 0x10, 9],
    ["VMPTRLD", "vmptrld", 0x7fff000, 9],
    ["VMPTRLD", "vmptrld", REGION_A, 10],
    ["VMPTRLD", "vmptrld", 0x30000, 11],
    ["VMCLEAR", "vmclear", REGION_A + 0x10, 2],
    ["VMCLEAR", "vmclear", 0x7fff000, 2],
    ["VMCLEAR", "vmclear", REGION_A, 3],
  ])("%s of 0x%s fails with VM-instruction error %i (VMfailValid with a current VMCS)", async (_name, mnemonic, address, error) => {
    const run = await runVmxGuest([
      pointer(0, REGION_A), pointer(1, REGION_C), pointer(2, address), vmxon(), vmptrld(1),
      step(`${mnemonic} ${operand(2)}`), recordError,
    ]);
    expect(run.results).toEqual([SUCCEED, SUCCEED, FAIL_VALID, error]);
  });

  it("the same failures without a current VMCS are VMfailInvalid", async () => {
    const run = await runVmxGuest([pointer(0, REGION_A), pointer(2, REGION_A + 0x10), vmxon(), vmptrld(2), vmclear(0)]);
    expect(run.results).toEqual([SUCCEED, FAIL_INVALID, FAIL_INVALID]);
  });
});

// Each way L0 can serve them (vmcs-shadowing.ts): in the core (on) or by exits it emulates (off);
// L1 must see the same outcome either way.
describe.each([["on", true], ["off", false]] as const)("VMREAD and VMWRITE, VMCS shadowing %s", (_, vmcsShadowing) => {
  const setup = [pointer(0, REGION_A), pointer(1, REGION_B), vmxon(), vmptrld(1)];
  const runVmxGuest = (body: string[]) => runVmxGuestWith(body, { nested: "vmx", vmcsShadowing });

  it("write and read back fields of each width: 16-bit fields keep 16 bits, a 64-bit field's full write clears its high half", async () => {
    const run = await runVmxGuest([
      ...setup,
      vmwrite(0x0802, 0x12345678), vmread(0x0802), // guest CS selector (16-bit)
      vmwrite(0x4002, 0x8401e172), vmread(0x4002), // primary controls (32-bit)
      vmwrite(0x681e, 0xdeadbeef), vmread(0x681e), // guest RIP (natural width)
      vmwrite(0x2011, 0xaaaa), vmwrite(0x2010, 0x1000), vmread(0x2010), vmread(0x2011), // TSC offset: high, then full
      vmwrite(0x2801, 0x5555), vmread(0x2801), // VMCS link pointer, high half
    ]);
    expect(run.results).toEqual([
      SUCCEED, SUCCEED,
      SUCCEED, SUCCEED, 0x5678,
      SUCCEED, SUCCEED, 0x8401e172,
      SUCCEED, SUCCEED, 0xdeadbeef,
      SUCCEED, SUCCEED, SUCCEED, 0x1000, SUCCEED, 0,
      SUCCEED, SUCCEED, 0x5555,
    ]);
  });

  it("unsupported encodings fail with error 12 and read-only fields refuse VMWRITE with error 13", async () => {
    const run = await runVmxGuest([
      ...setup,
      vmwrite(0x0000, 1), recordError, // VPID: not offered
      vmwrite(0x4001, 1), recordError, // the "high" access of a 32-bit field
      vmwrite(0x80004002, 1), recordError, // bits 31:15 are not 0
      vmwrite(0x401e, 1), recordError, // secondary controls: not offered
      vmread(0x6c17), recordError, // HOST_RIP | 1: not a 64-bit field
      vmwrite(0x4402, 1), recordError, // exit reason: read-only
      vmwrite(0x6400, 1), recordError, // exit qualification: read-only
      vmread(0x4402), // read-only fields read fine
    ]);
    expect(run.results).toEqual([
      SUCCEED, SUCCEED,
      FAIL_VALID, 12, FAIL_VALID, 12, FAIL_VALID, 12, FAIL_VALID, 12,
      FAIL_VALID, 0xcccccccc, 12, FAIL_VALID, 13, FAIL_VALID, 13, SUCCEED, 0,
    ]);
    // Shadowed or not, each failing one exits: --trace exits names the field, or says there is none.
    expect(exitsOf(run, L.EXIT_VMWRITE).map((e) => e.detail)).toEqual([
      "field EAX = 0x00000000 (no such field), EBX", "field EAX = 0x00004001 (no such field), EBX", "field EAX = 0x80004002 (no such field), EBX",
      "field EAX = 0x0000401e (no such field), EBX", "field EAX = 0x00004402 (EXIT_REASON), EBX", "field EAX = 0x00006400 (EXIT_QUALIFICATION), EBX",
    ]);
    expect(exitsOf(run, L.EXIT_VMREAD).map((e) => e.detail)).toContain("field EAX = 0x00006c17 (no such field), EBX");
  });

  it("fail with VMfailInvalid without a current VMCS", async () => {
    const run = await runVmxGuest([pointer(0, REGION_A), vmxon(), vmwrite(0x4002, 1), vmread(0x4002)]);
    expect(run.results).toEqual([SUCCEED, FAIL_INVALID, FAIL_INVALID, 0xcccccccc]);
  });

  it("take memory operands through any addressing form (the instruction-information field, decoded by L0)", async () => {
    const run = await runVmxGuest([
      ...setup,
      "movl $0x11223344, 0x7010\nmov $0x4004, %eax\nmov $0x7000, %esi\nmov $4, %ecx",
      step("vmwrite 0x10(%esi), %eax"), // base + disp8
      step("vmread %eax, 0x8(%esi,%ecx,2)"), // base + index*2 + disp8 -> 0x7010
      "movl $0, 0x7010",
      step("vmread %eax, 0x7000(,%ecx,4)"), // index*4 + disp32 -> 0x7010
      "mov 0x7010, %ebx", record("%ebx"),
      step("vmptrst -0x10(%esi,%ecx,8)"), // 0x7010 again
      "mov 0x7010, %ebx", record("%ebx"),
      "mov $0x4006, %eax\nmov $0x7010, %ebx",
      step("addr16 vmwrite (%bx), %eax"), // 16-bit addressing: [BX]
      vmread(0x4006),
    ]);
    expect(run.results).toEqual([SUCCEED, SUCCEED, SUCCEED, SUCCEED, SUCCEED, 0x11223344, SUCCEED, REGION_B, SUCCEED, SUCCEED, REGION_B]);
    expect(exitsOf(run, L.EXIT_VMPTRST)[0].detail).toBe("DS:[ESI+ECX*8+0xfffffff0]");
    expect(exitsOf(run, L.EXIT_VMPTRLD)[0].detail).toBe("DS:[0x6008]");
    if (vmcsShadowing) {
      // Completed in the core: no exit, so nothing for --trace exits to show.
      expect(exitsOf(run, L.EXIT_VMWRITE).length + exitsOf(run, L.EXIT_VMREAD).length).toBe(0);
      return;
    }
    // What --trace exits shows: the operands as L0 decoded them.
    expect(exitsOf(run, L.EXIT_VMWRITE).map((e) => e.detail)).toEqual(["field EAX = 0x00004004 (EXCEPTION_BITMAP), DS:[ESI+0x10]", "field EAX = 0x00004006 (PAGE_FAULT_ERROR_MASK), DS:[EBX]"]);
    expect(exitsOf(run, L.EXIT_VMREAD).map((e) => e.detail)).toEqual([
      "field EAX = 0x00004004 (EXCEPTION_BITMAP), DS:[ESI+ECX*2+0x8]", "field EAX = 0x00004004 (EXCEPTION_BITMAP), DS:[ECX*4+0x7000]", "field EAX = 0x00004006 (PAGE_FAULT_ERROR_MASK), EBX",
    ]);
  });
});

describe("VMLAUNCH and VMRESUME before the entry", () => {
  it("check the launch state: VMRESUME of a clear VMCS is error 5; VMLAUNCH fails the control checks (7) with no controls set", async () => {
    const run = await runVmxGuest([pointer(0, REGION_A), pointer(1, REGION_B), step("vmlaunch"), vmxon(), step("vmlaunch"), vmptrld(1), step("vmresume"), recordError, step("vmlaunch"), recordError]);
    expect(run.results).toEqual([UD, SUCCEED, FAIL_INVALID, SUCCEED, FAIL_VALID, 5, FAIL_VALID, 7]);
  });

  it("in compiled code too: hot loops of VMLAUNCH, VMRESUME and VMXOFF end as interpreted, each performed in its block", async () => {
    const ROUNDS = 160;
    // One block a round (no step(), whose POPF would split it): each outcome recorded as the flags,
    // or as the #UD, whose handler goes on at RESUME.
    const flags = `pushf\npop %ebp\nand $0x8d5, %ebp\n${record("%ebp")}`; // the arithmetic flags
    const faulting = (instruction: string, label: number) => `movl $${label}f, ${RESUME}\n${instruction}\n${label}:`;
    const loop = (body: string[]) => [pointer(0, REGION_A), pointer(1, REGION_B), `mov $${ROUNDS}, %esi`, "3:", ...body, "dec %esi", "jnz 3b"];
    // CR4.VMXE clear: the core's #UD; then in and out of VMX operation: the exits L0 fails or completes.
    const noVmxe = loop([faulting("vmlaunch", 4), faulting("vmresume", 5), faulting("vmxoff", 6)]);
    const inAndOut = loop([`vmxon ${operand(0)}`, flags, `vmptrld ${operand(1)}`, flags, "vmresume", flags, "vmlaunch", flags, "vmxoff", flags, faulting("vmresume", 7)]);
    for (const [body, vmxe, round, performed] of [[noVmxe, false, [UD, UD, UD], 3], [inAndOut, true, [SUCCEED, SUCCEED, FAIL_VALID, FAIL_VALID, SUCCEED, UD], 4]] as const) {
      const run = (compilingTier: boolean) => runVmxGuestWith(body, { nested: "vmx", compilingTier, countInterpretedForms: true }, vmxe);
      const [compiled, interpreted] = await Promise.all([run(true), run(false)]);
      expect(compiled.results).toEqual(interpreted.results);
      expect(compiled.results).toEqual(Array.from({ length: ROUNDS }, () => round).flat());
      for (const reason of [L.EXIT_VMLAUNCH, L.EXIT_VMRESUME, L.EXIT_VMXOFF]) expect(exitsOf(compiled, reason)).toHaveLength(exitsOf(interpreted, reason).length);
      // Once the loop is hot they run compiled: the interpreter met them only while it warmed up
      // (its blocks, which the exits split, each compiled after 32 arrivals).
      const forms = readInterpretedForms(compiled.vm.core).find((f) => f.form === "0F 01")?.count ?? 0;
      expect(forms).toBeLessThan(performed * 80);
    }
  });
});
