// The level switch of nested VMX in the core (assembly/vm/level-switch.ts; src/vmm/nested/): the
// layout of the area the VMM and the core share for it. Plain TypeScript that is also valid
// AssemblyScript, as vmcs-layout.ts. Like the exits-in-core area it is not part of a saved
// machine: a machine is saved only while L1 runs, and then nothing here is live but the link.
// Offsets are in bytes from the area's start (the core's levelSwitchArea()).

// 1 while the core may switch levels itself, entering L2 at L1's VMRESUME or VMLAUNCH and reflecting
// L2's CPUID into L1 (the VMM sets it while nobody watches exits one by one and no interrupt waits,
// so that nothing the VMM does at a switch is skipped).
export const LS_ENABLED = 0x00;
// While L2 runs, L1's VMCS it was entered with (its guest-physical address); LS_NONE while L1 runs.
// The one record of which level runs: the VMM's NestedVmx reads and writes it here.
export const LS_L2_VMCS = 0x04;
// The VMCS link pointer L1 runs with, LS_NONE when VMCS shadowing is off for it: the VMM keeps it
// current (src/vmm/nested/vmcs-shadowing.ts), the core sets it when L2 exits to L1.
export const LS_L1_LINK = 0x08;
export const LS_NONE = 0xffffffff;
// L1's current VMCS while it is in VMX operation with one, else LS_NONE: the VMM keeps it current.
export const LS_L1_VMCS = 0x0c;
// u64 counts of the exits the core completed as the VMM would: L2's CPUID reflected into L1, and
// L1's VMRESUME and VMLAUNCH that entered L2. The VMM adds them to its statistics and clears them.
export const LS_REFLECTED_CPUID_LO = 0x10;
export const LS_VMRESUMES_LO = 0x18;
export const LS_VMLAUNCHES_LO = 0x20;
// 1 while the guest of an SVM guest hypervisor runs (src/vmm/svm/svm-run.ts): the core then
// completes none of its exits for L0 itself, as under VMX while LS_L2_VMCS is set; 0 otherwise.
export const LS_SVM_L2 = 0x28;
// SVM's global interrupt flag (APM 15.17), 1 while clear: the VMM's InterruptInjector reads and
// writes it here, and the core's STGI and CLGI set and clear it without an exit while L1 runs and
// no interrupt waits (LS_INTERRUPTS_WAIT), as a CPU with virtual GIF does for its guest. 0 (set)
// in a fresh VM.
export const LS_SVM_GIF_CLEAR = 0x2c;
// L0's controls for L1, set aside while L2 runs (under VMX or SVM): the VMCS's words from C_PIN up
// to (not including) L1_CONTROLS_END at the same offsets from LS_L1_CONTROLS (the preemption timer,
// the live budget, and the clean-fields word are not among them), then L1's TSC offset at LS_L1_TSC_LO.
export const LS_L1_CONTROLS = 0x30;
export const L1_CONTROLS_END = 0x274; // C_CR_INTERCEPTS included
export const LS_L1_TSC_LO = LS_L1_CONTROLS + 0x78;
// 1 while the VMM's injector has an interrupt waiting (it says so before the guest runs on after
// every exit, whoever watches the exits): STGI then exits, so that the VMM delivers it.
export const LS_INTERRUPTS_WAIT = LS_L1_TSC_LO + 8;
export const LEVEL_SWITCH_BYTES = LS_INTERRUPTS_WAIT + 4;

// What the core's guest-state check of a VM entry answers (assembly/vm/vmentry-checks.ts): the
// state may be loaded, or the entry fails with exit 33 and qualification 0, or with qualification 4
// (the VMCS link pointer).
export const GUEST_STATE_VALID = 0;
export const GUEST_STATE_INVALID = 1;
export const GUEST_STATE_BAD_LINK = 2;
