// Which of L2's exits L1 asked for (l2-exits.ts), from exit information and L1's VMCS alone.
import { describe, expect, it } from "vitest";
import * as L from "../../../assembly/vmcs-layout.js";
import { Reg, Vmcs } from "../../../src/core/vmcs.js";
import { l1WantsExit } from "../../../src/vmm/nested/l2-exits.js";
import { VMCS_FIELD as F } from "../../../src/vmm/nested/vmcs12-fields.js";
import { Vmcs12 } from "../../../src/vmm/nested/vmcs12.js";

const REGION = 0x1000;

function setup(fields: Record<number, number>) {
  const ram = new Uint8Array(0x10000);
  const v = new Vmcs12(ram, REGION);
  for (const [encoding, value] of Object.entries(fields)) v.write(Number(encoding), value);
  const vmcs = new Vmcs(new Int32Array(L.VMCS_SIZE >> 2));
  return { ram, v, vmcs, wants: (reason: number) => l1WantsExit(vmcs, ram, v, reason) };
}

describe("l1WantsExit", () => {
  it("CPUID, VMCALL, triple fault and the VMX instructions always; HLT, INVLPG, RDTSC and the interrupt window by their controls", () => {
    const none = setup({});
    for (const reason of [L.EXIT_CPUID, L.EXIT_VMCALL, L.EXIT_TRIPLE_FAULT, L.EXIT_VMCLEAR, L.EXIT_VMXON, L.EXIT_VMRESUME]) expect(none.wants(reason)).toBe(true);
    for (const reason of [L.EXIT_HLT, L.EXIT_INVLPG, L.EXIT_RDTSC, L.EXIT_INTERRUPT_WINDOW, L.EXIT_EXTERNAL_INTERRUPT, L.EXIT_PREEMPTION_TIMER, L.EXIT_WRITE_TRAP]) expect(none.wants(reason)).toBe(false);
    const all = setup({ [F.PRIMARY_CONTROLS]: L.CTL_HLT_EXITING | L.CTL_INVLPG_EXITING | L.CTL_RDTSC_EXITING | L.CTL_INTERRUPT_WINDOW });
    for (const reason of [L.EXIT_HLT, L.EXIT_INVLPG, L.EXIT_RDTSC, L.EXIT_INTERRUPT_WINDOW]) expect(all.wants(reason)).toBe(true);
    expect(all.wants(L.EXIT_EXTERNAL_INTERRUPT)).toBe(false); // L0's timer: turned into L1's exit by nested-run.ts when L1 asked
  });

  it("CR4 writes, CLTS and LMSW by L1's masks and read shadows", () => {
    const t = setup({ [F.CR0_GUEST_HOST_MASK]: 0x9, [F.CR0_READ_SHADOW]: 0x8, [F.CR4_GUEST_HOST_MASK]: 0x80, [F.CR4_READ_SHADOW]: 0 });
    const cr = (qualification: number, eax = 0) => {
      t.vmcs.set(L.X_QUALIFICATION, qualification);
      t.vmcs.setReg(Reg.EAX, eax);
      return t.wants(L.EXIT_CR_ACCESS);
    };
    expect(cr(0x04, 0x10)).toBe(false); // MOV to CR4 of PSE: not L1's bit
    expect(cr(0x04, 0x90)).toBe(true); // sets PGE against L1's shadow
    expect(cr(0x20)).toBe(true); // CLTS with TS owned and set in the shadow
    expect(cr(0x30 | (0x8 << 16))).toBe(false); // LMSW keeping TS = 1 and PE = 0 as the shadow says
    expect(cr(0x30 | (0x9 << 16))).toBe(true); // LMSW setting an owned PE whose shadow is clear
    expect(cr(0x30)).toBe(true); // LMSW of 0: clears owned TS
  });

  it("exceptions by L1's bitmap; unconditional I/O only without I/O bitmaps", () => {
    const t = setup({ [F.EXCEPTION_BITMAP]: 1 << 6, [F.PRIMARY_CONTROLS]: L.CTL_UNCONDITIONAL_IO | L.CTL_USE_IO_BITMAPS, [F.IO_BITMAP_A]: 0x3000, [F.IO_BITMAP_B]: 0x4000 });
    t.vmcs.set(L.X_INTR_INFO, 0x80000306);
    expect(t.wants(L.EXIT_EXCEPTION)).toBe(true);
    t.vmcs.set(L.X_INTR_INFO, 0x80000b0d);
    expect(t.wants(L.EXIT_EXCEPTION)).toBe(false);
    t.vmcs.set(L.X_QUALIFICATION, 0x00800000); // OUT to port 0x80, 1 byte: its bit is clear
    expect(t.wants(L.EXIT_IO)).toBe(false);
    t.ram[0x4000 + (0x7fff >> 3)] = 0x80; // port 0xFFFF, in bitmap B
    t.vmcs.set(L.X_QUALIFICATION, 0xfffe0001); // 2 bytes at 0xFFFE: 0xFFFF's bit is set
    expect(t.wants(L.EXIT_IO)).toBe(true);
  });
});
