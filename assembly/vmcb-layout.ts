// The VMCB's layout (APM Vol. 2, appendix B), as both halves use it: the VMM's SVM code
// (src/vmm/svm/) and the core's SVM level switch (assembly/vm/svm-switch.ts). Plain TypeScript that
// is also valid AssemblyScript, as vmcs-layout.ts. A VMCB is one 4 KiB page of the guest
// hypervisor's (L1's) RAM: a control area at 000h and a state-save area at 400h. Fields wider than
// 32 bits are read as their low word; the checks that need the high word (VMRUN's) read it apart.

export const VMCB_SIZE = 0x1000;

// ---- Control area -------------------------------------------------------------------------------
export const CR_INTERCEPTS = 0x000; // reads 15:0, writes 31:16
export const DR_INTERCEPTS = 0x004;
export const EXCEPTION_INTERCEPTS = 0x008;
export const INTERCEPTS_1 = 0x00c; // INTR ... shutdown (below)
export const INTERCEPTS_2 = 0x010; // VMRUN ... (below)
export const IOPM_BASE = 0x040; // 64-bit, bits 11:0 ignored
export const MSRPM_BASE = 0x048; // 64-bit, bits 11:0 ignored
export const TSC_OFFSET = 0x050; // 64-bit
export const GUEST_ASID = 0x058;
export const TLB_CONTROL = 0x05c;
export const V_INTR = 0x060; // V_TPR 7:0, V_IRQ 8, V_INTR_PRIO 19:16, V_IGN_TPR 20, V_INTR_MASKING 24
export const V_INTR_VECTOR = 0x064;
export const INTERRUPT_SHADOW = 0x068; // bit 0
export const EXITCODE = 0x070; // 64-bit
export const EXITINFO1 = 0x078; // 64-bit
export const EXITINFO2 = 0x080; // 64-bit
export const EXITINTINFO = 0x088; // 64-bit: the event's information, then its error code
export const NP_ENABLE = 0x090;
export const EVENTINJ = 0x0a8; // 64-bit: the event's information, then its error code
export const NRIP = 0x0c8; // 64-bit

// INTERCEPTS_1
export const INTERCEPT_INTR = 1 << 0;
export const INTERCEPT_VINTR = 1 << 4;
export const INTERCEPT_CR0_SELECTIVE = 1 << 5;
export const INTERCEPT_RDTSC = 1 << 14;
export const INTERCEPT_CPUID = 1 << 18;
export const INTERCEPT_HLT = 1 << 24;
export const INTERCEPT_INVLPG = 1 << 25;
export const INTERCEPT_INVLPGA = 1 << 26;
export const INTERCEPT_IOIO = 1 << 27;
export const INTERCEPT_MSR = 1 << 28;
export const INTERCEPT_SHUTDOWN = 1 << 31;
// INTERCEPTS_2
export const INTERCEPT_VMRUN = 1 << 0;
export const INTERCEPT_VMMCALL = 1 << 1;
export const INTERCEPT_VMLOAD = 1 << 2;
export const INTERCEPT_VMSAVE = 1 << 3;
export const INTERCEPT_STGI = 1 << 4;
export const INTERCEPT_CLGI = 1 << 5;

export const V_IRQ = 1 << 8;
export const V_INTR_MASKING = 1 << 24;

// EVENTINJ and EXITINTINFO (APM 15.20): vector 7:0, type 10:8, EV (error code valid) 11, V 31.
export const EVENT_VALID = 1 << 31;
export const EVENT_ERROR_VALID = 1 << 11;
export const EVENT_TYPE_INTR = 0;
export const EVENT_TYPE_NMI = 2;
export const EVENT_TYPE_EXCEPTION = 3;
export const EVENT_TYPE_SOFTWARE_INT = 4;

// ---- State-save area ----------------------------------------------------------------------------
// Segments, 16 bytes each: selector (16), attributes (16: descriptor bits 47:40 in 7:0, 55:52 in
// 11:8), limit (32, expanded), base (64). In the x86 order ES CS SS DS FS GS, then GDTR, LDTR,
// IDTR, TR (the table registers use only base and limit).
export const SAVE_ES = 0x400;
export const SEGMENT_STRIDE = 0x10;
export const SAVE_FS = 0x440;
export const SAVE_GS = 0x450;
export const SAVE_GDTR = 0x460;
export const SAVE_LDTR = 0x470;
export const SAVE_IDTR = 0x480;
export const SAVE_TR = 0x490;
export const SEGMENT_SELECTOR = 0;
export const SEGMENT_ATTRIBUTES = 2;
export const SEGMENT_LIMIT = 4;
export const SEGMENT_BASE = 8;
export const SAVE_CPL = 0x4cb; // a byte
export const SAVE_EFER = 0x4d0;
export const SAVE_CR4 = 0x548;
export const SAVE_CR3 = 0x550;
export const SAVE_CR0 = 0x558;
export const SAVE_DR7 = 0x560;
export const SAVE_DR6 = 0x568;
export const SAVE_RFLAGS = 0x570;
export const SAVE_RIP = 0x578;
export const SAVE_RSP = 0x5d8;
export const SAVE_RAX = 0x5f8;
export const SAVE_STAR = 0x600;
export const SAVE_LSTAR = 0x608;
export const SAVE_CSTAR = 0x610;
export const SAVE_SFMASK = 0x618;
export const SAVE_KERNEL_GS_BASE = 0x620;
export const SAVE_SYSENTER_CS = 0x628;
export const SAVE_SYSENTER_ESP = 0x630;
export const SAVE_SYSENTER_EIP = 0x638;
export const SAVE_CR2 = 0x640;

// ---- #VMEXIT codes (appendix C) that L0 produces ----------------------------------------------
export const VMEXIT_CR0_READ = 0x00;
export const VMEXIT_CR0_WRITE = 0x10;
export const VMEXIT_EXCEPTION = 0x40;
export const VMEXIT_INTR = 0x60;
export const VMEXIT_CR0_SELECTIVE_WRITE = 0x65;
export const VMEXIT_RDTSC = 0x6e;
export const VMEXIT_CPUID = 0x72;
export const VMEXIT_HLT = 0x78;
export const VMEXIT_INVLPG = 0x79;
export const VMEXIT_IOIO = 0x7b;
export const VMEXIT_MSR = 0x7c;
export const VMEXIT_SHUTDOWN = 0x7f;

/** The #VMEXIT code of a failed consistency check (-1, as a 64-bit value: both words all ones). */
export const VMEXIT_INVALID = -1;

// The permission maps' sizes (APM 15.10.1, 15.11).
export const IOPM_SIZE = 0x3000;
export const MSRPM_SIZE = 0x2000;
