// L0's part of the SVM instructions other than VMRUN (svm-run.ts), after the core's checks (#UD
// without EFER.SVME or protected mode, #GP(0) at CPL > 0: assembly/cpu/svm-instructions.ts) and,
// when L2 executed one, after L1 did not intercept it (svm-intercepts.ts). As Bochs' svm.cc:
//  - VMLOAD/VMSAVE: rAX page-aligned and in the physical address space, else #GP(0); a VMCB page
//    not in RAM is #GP(0) too (KVM's answer to a VMCB it cannot map). They move FS, GS, TR, LDTR
//    (selector, attributes, limit, base) and the SYSENTER MSRs; KernelGsBase, STAR, LSTAR, CSTAR
//    and SFMASK do not exist on this CPU (no long mode, no SYSCALL): VMSAVE writes 0, VMLOAD skips;
//  - STGI and CLGI set and clear the global interrupt flag (InterruptInjector.globalInterruptFlag);
//  - VMMCALL that no hypervisor intercepts is #UD (APM: "a non-intercepted VMMCALL raises #UD");
//  - INVLPGA invalidates the page at rAX in every address space: the shadow MMU keeps its TLB
//    coherent by tracking the guest's page-table writes, so completing it is all (exits/invlpg.ts).

import { Reg, type Vmcs } from "../../core/vmcs.js";
import { G_MSR_SYSENTER_CS, G_MSR_SYSENTER_EIP, G_MSR_SYSENTER_ESP, SR_FS, SR_GS, SR_LDTR, SR_TR } from "../../../assembly/vmcs-layout.js";
import { hex8 } from "../../loader/load-error.js";
import type { ExitContext } from "../exits/exit-context.js";
import { VECTOR_GP, VECTOR_UD, injectException } from "../inject.js";
import {
  SAVE_CSTAR, SAVE_FS, SAVE_GS, SAVE_KERNEL_GS_BASE, SAVE_LDTR, SAVE_LSTAR, SAVE_SFMASK, SAVE_STAR, SAVE_SYSENTER_CS,
  SAVE_SYSENTER_EIP, SAVE_SYSENTER_ESP, SAVE_TR, type Vmcb, vmcbAt, VMCB_SIZE, vmcbInRam, vmcbPointerValid,
} from "./vmcb.js";

/** The segments VMLOAD and VMSAVE move, with their places in the state-save area. */
const EXTRA_SEGMENTS: ReadonlyArray<[number, number]> = [[SAVE_FS, SR_FS], [SAVE_GS, SR_GS], [SAVE_TR, SR_TR], [SAVE_LDTR, SR_LDTR]];
const EXTRA_MSRS: ReadonlyArray<[number, number]> = [[SAVE_SYSENTER_CS, G_MSR_SYSENTER_CS], [SAVE_SYSENTER_ESP, G_MSR_SYSENTER_ESP], [SAVE_SYSENTER_EIP, G_MSR_SYSENTER_EIP]];
const ABSENT_MSRS = [SAVE_KERNEL_GS_BASE, SAVE_STAR, SAVE_LSTAR, SAVE_CSTAR, SAVE_SFMASK];

/** The VMCB rAX names for VMLOAD or VMSAVE; undefined once #GP(0) is injected. */
function operandVmcb(vm: ExitContext): Vmcb | undefined {
  const pointer = vm.vmcs.reg(Reg.EAX);
  if (vmcbPointerValid(pointer) && vmcbInRam(vm.ram, pointer)) return vmcbAt(vm.ram, pointer);
  injectException(vm.vmcs, VECTOR_GP, 0);
  return undefined;
}

export function handleVmload(vm: ExitContext): void {
  const vmcb = operandVmcb(vm);
  if (vmcb === undefined) return;
  for (const [at, sreg] of EXTRA_SEGMENTS) vm.core.svmLoadSegment(vmcb.pointer, at, sreg, 1);
  for (const [at, field] of EXTRA_MSRS) vm.vmcs.set(field, vmcb.read(at));
  vm.vmcs.skipInstruction();
}

export function handleVmsave(vm: ExitContext): void {
  const vmcb = operandVmcb(vm);
  if (vmcb === undefined) return;
  for (const [at, sreg] of EXTRA_SEGMENTS) vm.core.svmSaveSegment(vmcb.pointer, at, sreg);
  for (const [at, field] of EXTRA_MSRS) vmcb.write64(at, vm.vmcs.get(field));
  for (const at of ABSENT_MSRS) vmcb.write64(at, 0);
  vm.core.noteHostWrite(vmcb.pointer, VMCB_SIZE);
  vm.vmcs.skipInstruction();
}

export function handleStgi(vm: ExitContext): void {
  vm.interrupts.globalInterruptFlag = true;
  vm.vmcs.skipInstruction();
  vm.interrupts.deliver();
}

export function handleClgi(vm: ExitContext): void {
  vm.interrupts.globalInterruptFlag = false;
  vm.vmcs.skipInstruction();
  vm.interrupts.deliver();
}

export function handleVmmcall(vm: ExitContext): void {
  injectException(vm.vmcs, VECTOR_UD);
}

export function handleInvlpga(vm: ExitContext): void {
  vm.vmcs.skipInstruction();
}

/** VMRUN, VMLOAD and VMSAVE in a trace: the VMCB rAX names. */
export function describeVmcbOperand(vmcs: Vmcs): string {
  return `VMCB ${hex8(vmcs.reg(Reg.EAX))}`;
}
