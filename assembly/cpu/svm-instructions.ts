// The SVM instructions, 0F 01 D8-DF (group 7 with a register ModR/M, reg 3): VMRUN, VMMCALL,
// VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA. The core makes the checks the APM's exception
// tables make before anything else (APM Vol. 3; intercepts are checked after them, APM Vol. 2
// 15.9), then exits to the VMM, which emulates the rest (the rAX checks, the VMCB, the GIF), but
// for L1's STGI and CLGI while no interrupt waits, which set and clear the GIF here with no exit
// (vm/level-switch.ts globalInterruptFlagInCore: a CPU's virtual GIF):
//  - #UD with EFER.SVME clear, in real mode and in virtual-8086 mode (VMMCALL: only with SVME
//    clear, since an L2 in real mode may call its hypervisor); SKINIT always (not offered:
//    CPUID 0x80000001 ECX.SKINIT is clear);
//  - #GP(0) at CPL > 0, but for VMMCALL, which any level may execute.
// EFER.SVME is what offers SVM at all: it can be set only on the AMD personality with SVM
// enabled in VM_CR (src/vmm/svm/svm-msrs.ts), so otherwise every one of these is #UD, as on a CPU
// without SVM; the bare core (tests, fuzzer) sees G_EFER as the VMCS holds it.
import {
  EFER_SVME, EXIT_SVM_CLGI, EXIT_SVM_INVLPGA, EXIT_SVM_STGI, EXIT_SVM_VMLOAD, EXIT_SVM_VMMCALL,
  EXIT_SVM_VMRUN, EXIT_SVM_VMSAVE, G_EFER, VMCS_BASE,
} from "../vmcs-layout";
import { cpl, cr0, CR0_PE, EXC_GP, EXC_UD, raise, VM } from "./state";
import { flagsWord } from "./flags";
import { vmexit } from "./vmexit";
import { globalInterruptFlagInCore } from "../vm/level-switch";

const SKINIT: u32 = 6;
const STGI: u32 = 4;
const CLGI: u32 = 5;
const VMMCALL: u32 = 1;

// The exit reason of 0F 01 D8 + rm (SKINIT's, rm 6, is never taken).
function reasonOf(rm: u32): u32 {
  switch (rm) {
    case 0: return EXIT_SVM_VMRUN;
    case 1: return EXIT_SVM_VMMCALL;
    case 2: return EXIT_SVM_VMLOAD;
    case 3: return EXIT_SVM_VMSAVE;
    case 4: return EXIT_SVM_STGI;
    case 5: return EXIT_SVM_CLGI;
    default: return EXIT_SVM_INVLPGA;
  }
}

export function svmInstruction(rm: u32): void {
  const svme = (load<u32>(VMCS_BASE + G_EFER) & EFER_SVME) != 0;
  if (rm == SKINIT || !svme) { raise(EXC_UD); return; }
  if (rm != VMMCALL) {
    if (!(cr0() & CR0_PE) || (flagsWord & VM)) { raise(EXC_UD); return; }
    if (cpl != 0) { raise(EXC_GP, 0); return; }
  }
  if ((rm == STGI || rm == CLGI) && globalInterruptFlagInCore(rm == STGI)) return;
  vmexit(reasonOf(rm), 0);
}
