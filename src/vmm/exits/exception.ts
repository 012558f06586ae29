// Exit reason 0, exception or NMI (KVM's handle_exception_nmi): taken for the vectors whose bit the
// VMM sets in the exception bitmap. By default the bitmap is empty and the guest handles its own
// exceptions through its IDT; an embedder that sets bits (to watch for #UD or #GP, say) gets the run
// ended with the vector and error code. Trap-and-emulate handlers will replace this per vector.

import { X_INTR_ERROR, X_INTR_INFO, INTR_HAS_ERROR } from "../../../assembly/vmcs-layout.js";
import type { ExitContext } from "./exit-context.js";

export function handleException(vm: ExitContext): void {
  const info = vm.vmcs.get(X_INTR_INFO);
  const errorCode = info & INTR_HAS_ERROR ? vm.vmcs.get(X_INTR_ERROR) : undefined;
  vm.stop({ kind: "exception", vector: info & 0xff, errorCode });
}
