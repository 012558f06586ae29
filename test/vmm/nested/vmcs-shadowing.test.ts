// VMCS shadowing (vmcs-shadowing.ts, assembly/cpu/vmcs-shadowing.ts): with it on, L1's VMREAD and
// VMWRITE of supported fields complete in the core with no exit; everything else exits and L0
// emulates it. L1 cannot tell: every program here must leave the same records and the same VMCS
// regions with shadowing on and off, however hostile (overlapping operands, faults, bad encodings).
import { describe, expect, it } from "vitest";
import * as L from "../../../assembly/vmcs-layout.js";
import { exitsOf } from "../../support/tiny-guest.js";
import { VMCS_FIELD } from "../../../src/vmm/nested/vmcs12-fields.js";
import { FAIL_INVALID, FAIL_VALID, PF, REGION_A, REGION_B, REGION_C, SUCCEED, UD, operand, pointer, record, recordError, runVmxGuest, step, type VmxRun } from "./vmx-guest.js";

const vmwrite = (encoding: number, value: number) => `mov $${encoding}, %eax\nmov $${value >>> 0}, %ebx\n${step("vmwrite %ebx, %eax")}`;
const vmread = (encoding: number) => `mov $${encoding}, %eax\nmov $0xcccccccc, %ebx\n${step("vmread %eax, %ebx")}\n${record("%ebx")}`;
const loaded = [pointer(0, REGION_A), pointer(1, REGION_B), pointer(2, REGION_C), step(`vmxon ${operand(0)}`), step(`vmptrld ${operand(1)}`)];
const vmxExits = (run: VmxRun) => exitsOf(run, L.EXIT_VMREAD).length + exitsOf(run, L.EXIT_VMWRITE).length;
const regions = (run: VmxRun) => [...run.vm.ram.subarray(REGION_B, REGION_C + 0x1000)];

/** Runs `body` with shadowing on and off: both must record the same and leave the same VMCS regions. */
async function bothWays(body: string[]): Promise<{ on: VmxRun; off: VmxRun }> {
  const on = await runVmxGuest(body, { nested: "vmx", vmcsShadowing: true });
  const off = await runVmxGuest(body, { nested: "vmx", vmcsShadowing: false });
  expect(on.result.stop).toEqual(off.result.stop);
  expect(on.results).toEqual(off.results);
  expect(regions(on)).toEqual(regions(off));
  return { on, off };
}

describe("VMCS shadowing", () => {
  it("successful VMREADs and VMWRITEs make no exit with it on, one exit each with it off", async () => {
    const body = [...loaded, vmwrite(VMCS_FIELD.GUEST_RIP, 0x1234), vmread(VMCS_FIELD.GUEST_RIP), vmwrite(VMCS_FIELD.GUEST_CS_SELECTOR, 0x10008), vmread(VMCS_FIELD.GUEST_CS_SELECTOR)];
    const { on, off } = await bothWays(body);
    expect(on.results).toEqual([SUCCEED, SUCCEED, SUCCEED, SUCCEED, 0x1234, SUCCEED, SUCCEED, 8]);
    expect(vmxExits(on)).toBe(0);
    expect(vmxExits(off)).toBe(4);
  });

  it("failures exit to L0 either way and fail alike: bad encodings (12), read-only fields (13), no current VMCS", async () => {
    const body = [
      ...loaded,
      vmwrite(0x0000, 1), recordError, vmread(0x4001), recordError, vmwrite(0x80004002, 1), recordError, vmread(0x7fff), recordError,
      vmwrite(VMCS_FIELD.EXIT_REASON, 5), recordError, vmread(VMCS_FIELD.EXIT_REASON),
      step(`vmclear ${operand(1)}`), vmread(VMCS_FIELD.GUEST_RIP), vmwrite(VMCS_FIELD.GUEST_RIP, 1),
    ];
    const { on, off } = await bothWays(body);
    expect(on.results).toEqual([
      SUCCEED, SUCCEED, FAIL_VALID, 12, FAIL_VALID, 0xcccccccc, 12, FAIL_VALID, 12, FAIL_VALID, 0xcccccccc, 12,
      FAIL_VALID, 13, SUCCEED, 0, SUCCEED, FAIL_INVALID, 0xcccccccc, FAIL_INVALID,
    ]);
    // With it on, only the failing ones exit (the reads of the error field and the exit reason do not).
    expect(vmxExits(on)).toBe(7);
    expect(vmxExits(off)).toBe(13);
  });

  it("operands that overlap the VMCS region, and faulting operands, end the same", async () => {
    const rip = REGION_B + 0x100; // somewhere in the region: L1 may point an operand there
    await bothWays([
      ...loaded,
      vmwrite(VMCS_FIELD.GUEST_RIP, 0xabcd),
      `mov $${VMCS_FIELD.GUEST_RIP}, %eax`,
      ...Array.from({ length: 8 }, (_, i) => step(`vmread %eax, ${rip + 4 * i}`)), // writes into the region itself
      step(`vmwrite ${REGION_B + 0x20}, %eax`), vmread(VMCS_FIELD.GUEST_RIP), // reads its value from the region
      step("vmread %eax, 0x800000"), step("vmwrite 0x800000, %eax"), vmread(VMCS_FIELD.GUEST_RIP), // unmapped: #PF, nothing written
      `movl $0x55aa, ${REGION_B + 0x30}`, // L1 writes its region directly: nothing is cached either way
      ...Object.values(VMCS_FIELD).slice(0, 40).map(vmread),
    ]).then(({ on }) => {
      expect(on.results).toContain(PF);
    });
  });

  it("writes go to the current VMCS, which VMPTRLD changes; after VMXOFF the instructions raise #UD", async () => {
    const { on } = await bothWays([
      ...loaded, vmwrite(VMCS_FIELD.GUEST_RSP, 0xb), step(`vmptrld ${operand(2)}`), vmwrite(VMCS_FIELD.GUEST_RSP, 0xc),
      vmread(VMCS_FIELD.GUEST_RSP), step(`vmptrld ${operand(1)}`), vmread(VMCS_FIELD.GUEST_RSP),
      step("vmxoff"), vmread(VMCS_FIELD.GUEST_RSP), vmwrite(VMCS_FIELD.GUEST_RSP, 1),
    ]);
    expect(on.results).toEqual([SUCCEED, SUCCEED, SUCCEED, SUCCEED, SUCCEED, SUCCEED, 0xc, SUCCEED, SUCCEED, 0xb, SUCCEED, UD, 0xcccccccc, UD]);
  });

  it("the core's control follows L1's current VMCS and the option, which can change while L1 runs", async () => {
    const run = await runVmxGuest(loaded, { nested: "vmx" });
    expect(run.vm.vmcsShadowing).toBe(true);
    expect(run.vm.vmcs.get(L.C_SECONDARY) & L.CTL2_VMCS_SHADOWING).not.toBe(0);
    expect(run.vm.vmcs.get(L.C_VMCS_LINK)).toBe(REGION_B);
    run.vm.setVmcsShadowing(false);
    expect(run.vm.vmcs.get(L.C_SECONDARY) & L.CTL2_VMCS_SHADOWING).toBe(0);
    run.vm.setVmcsShadowing(true);
    expect(run.vm.vmcs.get(L.C_VMCS_LINK)).toBe(REGION_B);
    const none = await runVmxGuest([pointer(0, REGION_A), step(`vmxon ${operand(0)}`)], { nested: "vmx" });
    expect(none.vm.vmcs.get(L.C_SECONDARY) & L.CTL2_VMCS_SHADOWING).toBe(0); // no current VMCS: nothing to shadow
  });

  it("a link pointer that is no region in RAM (a corrupt control) makes the instruction exit, and L0 answers it", async () => {
    const body = [...loaded, step(`vmptrst ${operand(3)}`), vmwrite(VMCS_FIELD.GUEST_RIP, 7), vmread(VMCS_FIELD.GUEST_RIP)];
    const run = await runVmxGuest(body, { nested: "vmx" }, true, (vm) => {
      // At VMPTRST's exit, before L0 handles it: the link pointer becomes the last page of RAM, then past it.
      vm.onExit((exit) => {
        if (exit.reason === L.EXIT_VMPTRST) vm.vmcs.set(L.C_VMCS_LINK, vm.ram.length - 0x800);
      });
    });
    expect(run.results).toEqual([SUCCEED, SUCCEED, SUCCEED, SUCCEED, SUCCEED, 7]);
    expect(vmxExits(run)).toBe(2);
    expect(new DataView(run.vm.ram.buffer, run.vm.ram.byteOffset).getUint32(run.vm.ram.length - 0x800 + 0x10, true)).toBe(0);
  });
});
