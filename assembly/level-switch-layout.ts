// The level switch of nested VMX and SVM in the core (assembly/vm/level-switch.ts, svm-switch.ts; src/vmm/nested/, src/vmm/svm/): the
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
// While the guest of an SVM guest hypervisor runs (src/vmm/svm/svm-run.ts), SVM_L2_PLAIN or
// SVM_L2_VMM's; SVM_L2_NONE otherwise. The core then completes none of L2's exits for L0 itself,
// as under VMX while LS_L2_VMCS is set.
export const LS_SVM_L2 = 0x28;
export const SVM_L2_NONE = 0;
// L2 runs as the LS_SVM_RUN words say, and nothing else: the VMM's record of the run (NestedSvm)
// is made from them, and the core may make L2's CPUID #VMEXIT itself.
export const SVM_L2_PLAIN = 1;
// L2 runs with something only the VMM keeps (a virtual interrupt L2 has not taken): its exits go to the VMM.
export const SVM_L2_VMMS = 2;
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
// L1's VM_HSAVE_PA MSR, kept here by the VMM (src/vmm/svm/svm-msrs.ts), so that the core's VMRUN finds it.
export const LS_SVM_HSAVE_PA = LS_INTERRUPTS_WAIT + 4;
// While L2 runs under SVM: its VMCB, where L1's host state went, and what VMRUN found (RUN_* bits).
export const LS_SVM_RUN_VMCB = LS_SVM_HSAVE_PA + 4;
export const LS_SVM_RUN_HSAVE = LS_SVM_RUN_VMCB + 4;
export const LS_SVM_RUN_FLAGS = LS_SVM_RUN_HSAVE + 4;
export const RUN_HOLDS_INTERRUPTS = 1 << 0; // L1 intercepts INTR
export const RUN_VIRTUAL_MASKING = 1 << 1; // V_INTR_MASKING
export const RUN_HOST_INTERRUPTS = 1 << 2; // L1's RFLAGS.IF at VMRUN
// u64 counts, as those above, of the SVM switches the core made: L1's VMRUNs that entered L2, and
// L2's CPUID #VMEXITs into L1.
export const LS_SVM_VMRUNS_LO = LS_SVM_RUN_FLAGS + 4;
export const LS_SVM_CPUID_VMEXITS_LO = LS_SVM_VMRUNS_LO + 8;
export const LEVEL_SWITCH_BYTES = LS_SVM_CPUID_VMEXITS_LO + 8;

// What the core's guest-state check of a VM entry answers (assembly/vm/vmentry-checks.ts): the
// state may be loaded, or the entry fails with exit 33 and qualification 0, or with qualification 4
// (the VMCS link pointer).
export const GUEST_STATE_VALID = 0;
export const GUEST_STATE_INVALID = 1;
export const GUEST_STATE_BAD_LINK = 2;
