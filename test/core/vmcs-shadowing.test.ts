// The core's half of VMCS shadowing (assembly/cpu/vmcs-shadowing.ts) on a bare core: with the
// control on and a link pointer to a region in RAM, VMREAD and VMWRITE of a field the table
// supports complete without an exit, as the field table says (16-bit fields, a 64-bit field's high
// half); everything else exits to the VMM as without shadowing; at CPL 3 they raise #GP(0).
import { beforeEach, describe, expect, it } from "vitest";
import * as L from "../../assembly/vmcs-layout";
import { programFieldTable } from "../../src/vmm/nested/vmcs-shadowing";
import { VMCS_FIELD, fieldSlot } from "../../src/vmm/nested/vmcs12-fields";
import { AR_CODE3, AR_DATA3, TestCpu } from "./harness";

const SHADOW = 0x20000;
const CR4_VMXE = 1 << 13;
const ARITH = 0x8d5;

let cpu: TestCpu;
beforeEach(() => {
  cpu = new TestCpu();
  cpu.resetFlat();
  cpu.setVmcs(L.G_CR4, CR4_VMXE);
  programFieldTable(cpu.core);
  cpu.setVmcs(L.C_SECONDARY, L.CTL2_VMCS_SHADOWING);
  cpu.setVmcs(L.C_VMCS_LINK, SHADOW);
});
const slot = (encoding: number) => SHADOW + fieldSlot(encoding)!.offset;

describe("VMCS shadowing in the core", () => {
  it("VMWRITE and VMREAD of supported fields complete without an exit and clear the arithmetic flags", () => {
    cpu.eflags = 2 | ARITH;
    cpu.write32(0x8000, 0x12345678);
    const exit = cpu.exec([
      `mov $${VMCS_FIELD.GUEST_RIP}, %eax`, "mov $0xabcdef01, %ebx", "vmwrite %ebx, %eax", // register source
      `mov $${VMCS_FIELD.GUEST_CS_SELECTOR}, %ecx`, "vmwrite 0x8000, %ecx", // memory source, 16-bit field
      "vmread %ecx, %edx", "vmread %eax, 0x8010", // register and memory destinations
      "hlt",
    ].join("\n"));
    expect(exit).toBe(L.EXIT_HLT);
    expect(cpu.read32(slot(VMCS_FIELD.GUEST_RIP))).toBe(0xabcdef01);
    expect(cpu.read32(slot(VMCS_FIELD.GUEST_CS_SELECTOR))).toBe(0x5678);
    expect(cpu.reg("edx")).toBe(0x5678);
    expect(cpu.read32(0x8010)).toBe(0xabcdef01);
    expect(cpu.eflags & ARITH).toBe(0);
  });

  it("a 64-bit field's full write clears its high half; the high half alone is its own field", () => {
    cpu.write32(slot(VMCS_FIELD.TSC_OFFSET) + 4, 0x5555);
    cpu.exec([`mov $${VMCS_FIELD.TSC_OFFSET + 1}, %eax`, "vmread %eax, %ebx", `mov $${VMCS_FIELD.TSC_OFFSET}, %eax`, "mov $7, %ecx", "vmwrite %ecx, %eax", "hlt"].join("\n"));
    expect(cpu.reg("ebx")).toBe(0x5555);
    expect(cpu.read32(slot(VMCS_FIELD.TSC_OFFSET))).toBe(7);
    expect(cpu.read32(slot(VMCS_FIELD.TSC_OFFSET) + 4)).toBe(0);
  });

  const exits = (source: string) => cpu.exec(`${source}\nhlt`);
  it("exits for what it does not complete: unsupported encodings, VMWRITE of a read-only field, the control off, a link pointer not in RAM", () => {
    expect(exits("mov $0x4001, %eax\nvmread %eax, %ebx")).toBe(L.EXIT_VMREAD);
    expect(exits("mov $0x80006800, %eax\nvmread %eax, %ebx")).toBe(L.EXIT_VMREAD);
    expect(exits(`mov $${VMCS_FIELD.EXIT_REASON}, %eax\nvmwrite %ebx, %eax`)).toBe(L.EXIT_VMWRITE);
    expect(exits(`mov $${VMCS_FIELD.EXIT_REASON}, %eax\nvmread %eax, %ebx`)).toBe(L.EXIT_HLT); // read-only fields read
    for (const link of [cpu.ram.length - 0x800, cpu.ram.length, 0xffffffff]) {
      cpu.setVmcs(L.C_VMCS_LINK, link);
      expect(exits(`mov $${VMCS_FIELD.GUEST_RIP}, %eax\nvmread %eax, %ebx`)).toBe(L.EXIT_VMREAD);
    }
    cpu.setVmcs(L.C_VMCS_LINK, SHADOW);
    cpu.setVmcs(L.C_SECONDARY, 0);
    expect(exits(`mov $${VMCS_FIELD.GUEST_RIP}, %eax\nvmwrite %ebx, %eax`)).toBe(L.EXIT_VMWRITE);
  });

  it("at CPL 3 a shadowed access raises #GP(0) and changes nothing", () => {
    cpu.setSegment(L.SR_CS, 0x1b, 0, 0xffffffff, AR_CODE3);
    for (const s of [L.SR_DS, L.SR_ES, L.SR_SS]) cpu.setSegment(s, 0x23, 0, 0xffffffff, AR_DATA3);
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    cpu.write32(slot(VMCS_FIELD.GUEST_RIP), 0x1111);
    expect(exits(`mov $${VMCS_FIELD.GUEST_RIP}, %eax\nmov $9, %ebx\nvmwrite %ebx, %eax`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.vmcs(L.X_INTR_INFO) & 0xfff).toBe(0xb0d);
    expect(cpu.vmcs(L.X_INTR_ERROR)).toBe(0);
    expect(cpu.read32(slot(VMCS_FIELD.GUEST_RIP))).toBe(0x1111);
  });

  it("a faulting memory operand raises its exception and writes nothing", () => {
    cpu.setSegment(L.SR_DS, 0x10, 0, 0xfff, 0xc093 & ~0x8000); // DS limit 4 KiB, byte-granular
    cpu.setVmcs(L.C_EXCEPTION_BITMAP, 1 << 13);
    cpu.write32(slot(VMCS_FIELD.GUEST_RIP), 0x2222);
    expect(exits(`mov $${VMCS_FIELD.GUEST_RIP}, %eax\nvmwrite 0x8000, %eax`)).toBe(L.EXIT_EXCEPTION);
    expect(cpu.read32(slot(VMCS_FIELD.GUEST_RIP))).toBe(0x2222);
  });
});
