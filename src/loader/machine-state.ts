// The machine state the Multiboot spec (section 3.2) promises the kernel at its entry point,
// written into the VMCS guest-state area: EAX = 0x2BADB002, EBX = the information structure,
// protected mode with paging off, flat 4 GiB code and data segments, interrupts disabled. Fields
// the spec leaves undefined get what QEMU's Multiboot option ROM leaves there (CS 0x08, data 0x10).

import {
  ACTIVITY_ACTIVE,
  AR_UNUSABLE,
  G_ACTIVITY,
  G_CR0,
  G_CR2,
  G_CR3,
  G_CR4,
  G_DR,
  G_EFLAGS,
  G_EIP,
  G_GDTR_BASE,
  G_GDTR_LIMIT,
  G_IDTR_BASE,
  G_IDTR_LIMIT,
  G_INTERRUPTIBILITY,
  SR_CS,
  SR_DS,
  SR_ES,
  SR_FS,
  SR_GS,
  SR_LDTR,
  SR_SS,
  SR_TR,
} from "../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../core/vmcs.js";

export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

/** CR0.PE (protected mode) | CR0.ET (387-style coprocessor interface; hardwired 1 since the 486). */
export const CR0_AT_ENTRY = 0x11;
/** Only the always-one bit 1: IF = 0, DF = 0. */
export const EFLAGS_AT_ENTRY = 0x2;
/** Present, ring-0, execute/read, accessed code; 4 KiB granularity; 32-bit. */
export const AR_FLAT_CODE = 0xc09b;
/** Present, ring-0, read/write, accessed data; 4 KiB granularity; 32-bit (B = 1 for SS). */
export const AR_FLAT_DATA = 0xc093;
/** Present 32-bit busy TSS: VM entry requires a usable TR even though the kernel never uses it yet. */
const AR_BUSY_TSS = 0x8b;
const DR7_RESET = 0x400;

export function setMultibootEntryState(vmcs: Vmcs, entry: number, bootInfoAddr: number): void {
  for (let reg = Reg.EAX; reg <= Reg.EDI; reg++) vmcs.setReg(reg, 0);
  vmcs.setReg(Reg.EAX, MULTIBOOT_BOOTLOADER_MAGIC);
  vmcs.setReg(Reg.EBX, bootInfoAddr);
  vmcs.set(G_EIP, entry);
  vmcs.set(G_EFLAGS, EFLAGS_AT_ENTRY);
  vmcs.set(G_CR0, CR0_AT_ENTRY);
  vmcs.set(G_CR2, 0);
  vmcs.set(G_CR3, 0);
  vmcs.set(G_CR4, 0);

  vmcs.setSegment(SR_CS, { selector: 0x08, base: 0, limit: 0xffffffff, ar: AR_FLAT_CODE });
  for (const sreg of [SR_DS, SR_ES, SR_FS, SR_GS, SR_SS]) {
    vmcs.setSegment(sreg, { selector: 0x10, base: 0, limit: 0xffffffff, ar: AR_FLAT_DATA });
  }
  vmcs.setSegment(SR_LDTR, { selector: 0, base: 0, limit: 0, ar: AR_UNUSABLE });
  vmcs.setSegment(SR_TR, { selector: 0, base: 0, limit: 0xffff, ar: AR_BUSY_TSS });
  // The spec says the kernel must load its own GDT and IDT before using them.
  vmcs.set(G_GDTR_BASE, 0);
  vmcs.set(G_GDTR_LIMIT, 0xffff);
  vmcs.set(G_IDTR_BASE, 0);
  vmcs.set(G_IDTR_LIMIT, 0xffff);
  for (let dr = 0; dr < 8; dr++) vmcs.set(G_DR + 4 * dr, dr === 7 ? DR7_RESET : 0);

  vmcs.set(G_INTERRUPTIBILITY, 0);
  vmcs.set(G_ACTIVITY, ACTIVITY_ACTIVE);
}
