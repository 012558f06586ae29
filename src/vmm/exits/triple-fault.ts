// Exit reason 2, triple fault (KVM's handle_triple_fault): the guest faulted while delivering a
// double fault. Real hardware would shut down and the chipset reset it; a test kernel that gets
// here has crashed, so the run ends and the CLI prints the guest's registers.

import type { ExitContext } from "./exit-context.js";

export function handleTripleFault(vm: ExitContext): void {
  vm.stop({ kind: "triple-fault" });
}
