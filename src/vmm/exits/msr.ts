// Exit reasons 31 and 32, RDMSR and WRMSR (KVM's handle_rdmsr / handle_wrmsr): the core exits on
// every MSR access at CPL 0 and the VMM owns the model-specific registers. We implement the few an
// integer-only P6 guest can use: the time-stamp counter (virtual: retired instructions plus the
// VMCS TSC offset, which is what RDTSC returns) and the three SYSENTER MSRs kept in the VMCS.
// Under `--nested vmx` also IA32_FEATURE_CONTROL and the VMX capability MSRs, read-only
// (nested/vmx-capabilities.ts): a write to them gets #GP(0), as a locked or read-only MSR does.
// Under `--cpu amd` also EFER, VM_CR and VM_HSAVE_PA (svm/svm-msrs.ts).
// Any other MSR does not exist on this CPU, and the guest gets #GP(0) as real hardware gives it.

import { G_MSR_SYSENTER_CS, G_MSR_SYSENTER_EIP, G_MSR_SYSENTER_ESP } from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import { hex8 } from "../../loader/load-error.js";
import { VECTOR_GP, injectException } from "../inject.js";
import { setTscOffset, virtualTsc } from "../virtual-tsc.js";
import { VMX_MSRS, type MsrValue } from "../nested/vmx-capabilities.js";
import type { ExitContext } from "./exit-context.js";

export const MSR_TSC = 0x10;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;

const SYSENTER_FIELDS: Record<number, number> = {
  [MSR_SYSENTER_CS]: G_MSR_SYSENTER_CS,
  [MSR_SYSENTER_ESP]: G_MSR_SYSENTER_ESP,
  [MSR_SYSENTER_EIP]: G_MSR_SYSENTER_EIP,
};

const TWO_32 = 0x1_0000_0000;

export function handleRdmsr(vm: ExitContext): void {
  const { vmcs } = vm;
  const value = readMsr(vm, vmcs.reg(Reg.ECX));
  if (value === undefined) return injectException(vmcs, VECTOR_GP, 0);
  vmcs.setReg(Reg.EAX, value[0]);
  vmcs.setReg(Reg.EDX, value[1]);
  vmcs.skipInstruction();
}

export function handleWrmsr(vm: ExitContext): void {
  const { vmcs } = vm;
  if (!writeMsr(vm, vmcs.reg(Reg.ECX), vmcs.reg(Reg.EAX), vmcs.reg(Reg.EDX))) return injectException(vmcs, VECTOR_GP, 0);
  vmcs.skipInstruction();
}

/** An MSR's value as RDMSR returns it [EAX, EDX]; undefined when reading it raises #GP. */
export function readMsr(vm: Pick<ExitContext, "vmcs" | "config" | "svmMsrs">, msr: number): MsrValue | undefined {
  const { vmcs } = vm;
  const vendorMsr = vm.config.nested === "vmx" ? VMX_MSRS.get(msr) : vm.config.cpu === "amd" ? vm.svmMsrs.read(vmcs, msr) : undefined;
  if (vendorMsr !== undefined) return vendorMsr;
  if (msr === MSR_TSC) {
    const tsc = virtualTsc(vmcs);
    return [tsc % TWO_32 >>> 0, Math.floor(tsc / TWO_32) >>> 0];
  }
  if (msr in SYSENTER_FIELDS) return [vmcs.get(SYSENTER_FIELDS[msr]), 0];
  return undefined;
}

/** WRMSR of EDX:EAX = high:low; false when it raises #GP (the MSR does not exist or is read-only). */
export function writeMsr(vm: Pick<ExitContext, "vmcs" | "config" | "svmMsrs">, msr: number, low: number, high: number): boolean {
  const { vmcs } = vm;
  if (vm.config.cpu === "amd" && vm.svmMsrs.has(msr)) return vm.svmMsrs.write(vmcs, msr, low, high);
  if (msr === MSR_TSC) setTscOffset(vmcs, low + high * TWO_32 - vmcs.instructionsRetired());
  else if (msr in SYSENTER_FIELDS) vmcs.set(SYSENTER_FIELDS[msr], low);
  else return false;
  return true;
}

export function describeMsrAccess(vmcs: Vmcs): string {
  return `MSR ${hex8(vmcs.reg(Reg.ECX))}`;
}
