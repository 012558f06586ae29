// VMCS shadowing (vmcs-shadowing.ts, assembly/cpu/vmcs-shadowing.ts): with it on, L1's VMREAD and
// VMWRITE of supported fields complete in the core with no exit; everything else exits and L0
// emulates it. L1 cannot tell: every program here must leave the same records and the same VMCS
// regions with shadowing on and off, however hostile (overlapping operands, faults, bad encodings).
import { describe, expect, it } from "vitest";
import * as L from "../../../assembly/vmcs-layout.js";
import { exitsOf } from "../../support/tiny-guest.js";
import { VMCS_FIELD } from "../../../src/vmm/nested/vmcs12-fields.js";
import { readInterpretedForms } from "../../../src/vmm/interpreted-forms.js";
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

  it("in compiled code too: a hot loop of register VMREADs and VMWRITEs ends as interpreted, the shadowed ones completed in its blocks", async () => {
    const ROUNDS = 200;
    // One straight block a round (no step(), whose POPF would split it): a plain field, a 16-bit
    // one, a 64-bit one whose full write clears the high half, each with the carry set before so
    // that VMsucceed must clear it; then two that exit either way (a read-only field, a bad
    // encoding), their flags and errors recorded.
    const flags = `pushf\npop %ebp\nand $0x8d5, %ebp\n${record("%ebp")}`; // the arithmetic flags
    const round = [
      `mov $${VMCS_FIELD.GUEST_RIP}, %eax\nstc\nvmwrite %esi, %eax`, flags, "mov $0xcccccccc, %ebx\nstc\nvmread %eax, %ebx", flags, record("%ebx"),
      `mov $${VMCS_FIELD.GUEST_CS_SELECTOR}, %eax\nlea 0x10000(%esi), %ebx\nvmwrite %ebx, %eax\nvmread %eax, %ecx`, record("%ecx"),
      `mov $${VMCS_FIELD.IO_BITMAP_A + 1}, %eax\nmov $7, %ebx\nvmwrite %ebx, %eax\nmov $${VMCS_FIELD.IO_BITMAP_A}, %edx\nmov $0x3000, %ebx`,
      "vmwrite %ebx, %edx\nvmread %eax, %ecx", record("%ecx"),
      `mov $${VMCS_FIELD.EXIT_REASON}, %eax\nvmwrite %esi, %eax`, flags, recordError,
      "mov $0x7fff, %eax\nmov $0xcccccccc, %ebx\nvmread %eax, %ebx", flags, record("%ebx"), recordError,
    ];
    const body = [...loaded, `mov $${ROUNDS}, %esi`, "3:", ...round, "dec %esi", "jnz 3b"];
    const run = (compilingTier: boolean, vmcsShadowing: boolean) => runVmxGuest(body, { nested: "vmx", vmcsShadowing, compilingTier, countInterpretedForms: true });
    const [compiled, interpreted, unshadowed] = await Promise.all([run(true, true), run(false, true), run(true, false)]);
    for (const other of [interpreted, unshadowed]) {
      expect(compiled.result.stop).toEqual(other.result.stop);
      expect(compiled.results).toEqual(other.results);
      expect(regions(compiled)).toEqual(regions(other));
    }
    expect(compiled.results.slice(-10)).toEqual([SUCCEED, SUCCEED, 1, 1, 0, FAIL_VALID, 13, FAIL_VALID, 0xcccccccc, 12]);
    // Only the two failing accesses exit (the error field's reads complete in the core)...
    expect(vmxExits(compiled)).toBe(vmxExits(interpreted));
    expect(vmxExits(compiled)).toBe(2 * ROUNDS);
    // ...and once the round's block is hot, the successful ones run compiled, not interpreted in place.
    const vmxForms = (r: VmxRun) => readInterpretedForms(r.vm.core).filter((f) => f.form === "0F 78" || f.form === "0F 79").reduce((n, f) => n + f.count, 0);
    expect(vmxForms(unshadowed)).toBe(11 * ROUNDS);
    expect(vmxForms(compiled)).toBeLessThan(2 * ROUNDS + 9 * 40); // the failing two, and the rounds before the block was hot
  });
});
