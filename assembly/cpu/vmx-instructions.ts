// The VMX instructions (VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH,
// VMRESUME) as a CPU in VMX non-root operation executes them: it makes the checks the SDM's
// "Operation" sections make before "ELSIF in VMX non-root operation THEN VM exit", and exits with
// the instruction's reason (19-27), the exit qualification (a memory operand's displacement) and
// the VM-exit instruction-information field (SDM Vol. 3C 28.2.5, tables 28-9 and 28-13). The guest
// is always in non-root operation here, so everything past those checks (CPL, VMX operation, the
// pointers and the VMCS) is the VMM's to emulate (src/vmm/nested/).
//
// Those checks: #UD in real mode and virtual-8086 mode, with CR4.VMXE clear, with a register
// operand where the instruction takes memory, and with a 66/F2/F3 prefix the instruction does not
// take. CR4.VMXE is what offers VMX at all: the core refuses to set it unless the VMM owns the bit
// (system.ts writeCr4), so without nested VMX every one of these raises #UD, as on a CPU without it.
import {
  EXIT_VMCLEAR, EXIT_VMLAUNCH, EXIT_VMPTRLD, EXIT_VMPTRST, EXIT_VMREAD, EXIT_VMRESUME, EXIT_VMWRITE,
  EXIT_VMXOFF, EXIT_VMXON, VMX_INFO_REGISTER, VMX_INFO_NO_INDEX, VMX_INFO_NO_BASE,
} from "../vmcs-layout";
import { eip, o32, a32, csDefault32, repPrefix, pending, raise, EXC_UD, cr0, cr4, CR0_PE, CR4_VMXE, VM } from "./state";
import { flagsWord } from "./flags";
import { fetch8, fetch16, fetch32 } from "./fetch";
import { decodeModrm, modReg, modRm, modIsReg, eaSeg } from "./modrm";
import { vmexit, setExitLinear } from "./vmexit";
import { shadowedVmreadVmwrite } from "./vmcs-shadowing";


// The mode checks every VMX instruction makes first.
function vmxAvailable(): bool {
  if (!(cr0() & CR0_PE) || (flagsWord & VM) || !(cr4() & CR4_VMXE)) { raise(EXC_UD); return false; }
  return true;
}

@inline function operandSizePrefix(): bool { return o32 != csDefault32; }

// 0F 01 C2 VMLAUNCH, C3 VMRESUME, C4 VMXOFF (group 7 with a register ModR/M, reg 0).
export function vmxNoOperand(rm: u32): void {
  if (!vmxAvailable()) return;
  const reason = rm == 2 ? EXIT_VMLAUNCH : rm == 3 ? EXIT_VMRESUME : EXIT_VMXOFF;
  exitWithInfo(reason, 0, 0);
}

// 0F C7 /6 and /7 with a memory operand: VMPTRLD (no prefix), VMCLEAR (66), VMXON (F3), VMPTRST
// (/7, no prefix). The ModR/M byte at `modrmAt` is decoded already; RDRAND/RDSEED (register forms)
// are not offered.
export function vmxGroup9(modrmAt: u32): void {
  if (modIsReg || repPrefix == 0xf2) { raise(EXC_UD); return; }
  let reason: u32;
  if (modReg == 6) reason = repPrefix == 0xf3 ? EXIT_VMXON : operandSizePrefix() ? EXIT_VMCLEAR : EXIT_VMPTRLD;
  else if (repPrefix == 0 && !operandSizePrefix()) reason = EXIT_VMPTRST;
  else { raise(EXC_UD); return; }
  if (!vmxAvailable()) return;
  exitWithMemoryOperand(reason, modrmAt, 0);
}

// 0F 78 VMREAD r/m32, r32 and 0F 79 VMWRITE r32, r/m32 (32-bit operands outside 64-bit mode,
// whatever the operand size). Instruction information: bits 3-6 the r/m register, bit 10 set for
// a register operand, bits 28-31 the ModR/M.reg register. With VMCS shadowing on, a shadowed
// field's access completes without the exit (vmcs-shadowing.ts).
export function vmreadVmwrite(write: bool): void {
  const modrmAt = eip;
  decodeModrm();
  if (pending) return;
  if (repPrefix != 0 || operandSizePrefix()) { raise(EXC_UD); return; }
  if (!vmxAvailable()) return;
  if (shadowedVmreadVmwrite(write)) return;
  const reason = write ? EXIT_VMWRITE : EXIT_VMREAD;
  if (modIsReg) exitWithInfo(reason, 0, (modRm << 3) | VMX_INFO_REGISTER | (modReg << 28));
  else exitWithMemoryOperand(reason, modrmAt, modReg << 28);
}

// The memory operand, read again from its bytes (the ModR/M decoder keeps only the resulting
// offset): scaling in bits 0-1, address size in bits 7-9, segment in bits 15-17, index register in
// bits 18-21 (bit 22: none), base register in bits 23-26 (bit 27: none); the qualification is the
// displacement. 16-bit forms name their registers the same way ([BX+SI]: base BX, index SI).
function exitWithMemoryOperand(reason: u32, modrmAt: u32, extra: u32): void {
  const end = eip;
  eip = modrmAt;
  const m = fetch8();
  const mod = m >> 6;
  const rm = m & 7;
  let base: i32 = -1;
  let index: i32 = -1;
  let scale: u32 = 0;
  let disp: u32 = 0;
  if (a32) {
    if (rm == 4) {
      const sib = fetch8();
      scale = sib >> 6;
      if (((sib >> 3) & 7) != 4) index = (sib >> 3) & 7;
      if ((sib & 7) != 5 || mod != 0) base = sib & 7;
      else disp = fetch32();
    } else if (rm == 5 && mod == 0) disp = fetch32();
    else base = rm;
    if (mod == 1) disp = <u32><i32><i8>fetch8();
    else if (mod == 2) disp = fetch32();
  } else {
    // Bases by r/m, a nibble each: BX BX BP BP SI DI BP BX; indexes SI DI SI DI for r/m 0-3.
    if (rm == 6 && mod == 0) disp = fetch16();
    else { base = (0x35765533 >> (rm << 2)) & 0xf; index = rm < 4 ? 6 | (rm & 1) : -1; }
    if (mod == 1) disp = <u32><i32><i8>fetch8();
    else if (mod == 2) disp = fetch16();
  }
  eip = end;
  const info = scale | ((a32 ? 1 : 0) << 7) | (eaSeg << 15) |
    (index < 0 ? VMX_INFO_NO_INDEX : <u32>index << 18) | (base < 0 ? VMX_INFO_NO_BASE : <u32>base << 23) | extra;
  exitWithInfo(reason, disp, info);
}

function exitWithInfo(reason: u32, qualification: u32, info: u32): void {
  setExitLinear(0, info);
  vmexit(reason, qualification);
}
