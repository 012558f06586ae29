// Exit reason 0, exception or NMI (KVM's handle_exception_nmi): taken for the vectors whose bit the
// VMM sets in the exception bitmap. Under `--if-mode classic` the VMM intercepts #GP, because that
// is how a deprivileged guest kernel's CLI and STI reach it: those are emulated on the virtual
// interrupt flag (classic-if.ts) and every other #GP is reflected into the guest, which would have
// taken it without a VMM. Under `bt` only user code (CPL 3) runs untranslated, and so only its CLI
// and STI (which its IOPL allows, the real IOPL being the VMM's 0) fault to the VMM; the kernel's
// never reach the CPU, so a #GP from CPL 0 is the guest's own. Any other intercepted exception (an embedder may set bits to watch for
// #UD, say) ends the run with its vector and error code.

import { G_CPL, INTR_HAS_ERROR, X_INTR_ERROR, X_INTR_INFO } from "../../../assembly/vmcs-layout.js";
import type { Vmcs } from "../../core/vmcs.js";
import { hex } from "../../loader/load-error.js";
import { emulateClassicIf } from "../classic-if.js";
import { VECTOR_GP, injectException } from "../inject.js";
import { exceptionName } from "../stop-reason.js";
import { deprivilegesKernel } from "../vm-config.js";
import type { ExitContext } from "./exit-context.js";

export function handleException(vm: ExitContext): void {
  const info = vm.vmcs.get(X_INTR_INFO);
  const vector = info & 0xff;
  const errorCode = info & INTR_HAS_ERROR ? vm.vmcs.get(X_INTR_ERROR) : undefined;
  if (vector === VECTOR_GP && deprivilegesKernel(vm.config.ifMode)) {
    if (!(faultsToVmm(vm) && emulateClassicIf(vm))) injectException(vm.vmcs, VECTOR_GP, errorCode ?? 0);
    return;
  }
  vm.stop({ kind: "exception", vector, errorCode });
}

/** Code whose CLI and STI fault to the VMM: the guest kernel under classic, user code under bt. */
function faultsToVmm(vm: ExitContext): boolean {
  const { ifMode } = vm.config;
  return ifMode === "classic" || (ifMode === "bt" && vm.vmcs.get(G_CPL) === 3);
}

export function describeException(vmcs: Vmcs): string {
  const info = vmcs.get(X_INTR_INFO);
  const code = info & INTR_HAS_ERROR ? ` error code ${hex(vmcs.get(X_INTR_ERROR))}` : "";
  return `${exceptionName(info & 0xff)}${code}`;
}
