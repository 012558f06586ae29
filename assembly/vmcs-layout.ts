// The VMCS: one fixed-layout region of WASM linear memory that the guest CPU (assembly/) and the
// VMM (src/) both read and write in place, as VT-x's VMCS is shared by the CPU and the hypervisor.
// This file is plain TypeScript that is also valid AssemblyScript, so both halves import the same
// numbers. Offsets are in bytes from the start of the VMCS, at VMCS_BASE (below) in the core's
// exported memory; the VMM's views (src/core/views.ts) are made with the same constant.
// Every field is 32 bits wide unless its name says otherwise.

// ---- Where things live in WASM memory -------------------------------------------------------
export const VMCS_BASE = 0x1000; // 4 KiB region
export const VMCS_SIZE = 0x1000;
export const IO_BITMAP_A = 0x2000; // ports 0x0000-0x7FFF, one bit per port
export const IO_BITMAP_B = 0x3000; // ports 0x8000-0xFFFF

// ---- Guest-state area ------------------------------------------------------------------------
// General registers in x86 encoding order: EAX ECX EDX EBX ESP EBP ESI EDI.
export const G_REGS = 0x000;
export const G_EIP = 0x020;
export const G_EFLAGS = 0x024;
export const G_CR0 = 0x028;
export const G_CR2 = 0x02c;
export const G_CR3 = 0x030;
export const G_CR4 = 0x034;
// Segment registers, 16 bytes each: selector, base, limit (bytes, already scaled by G),
// access rights in the VMCS format (type 0-3, S 4, DPL 5-6, P 7, AVL 12, D/B 14, G 15, unusable 16).
// Order follows the x86 sreg encoding: ES CS SS DS FS GS, then LDTR and TR.
export const G_SEG = 0x040;
export const SEG_STRIDE = 16;
export const SEG_SEL = 0;
export const SEG_BASE = 4;
export const SEG_LIMIT = 8;
export const SEG_AR = 12;
export const SR_ES = 0;
export const SR_CS = 1;
export const SR_SS = 2;
export const SR_DS = 3;
export const SR_FS = 4;
export const SR_GS = 5;
export const SR_LDTR = 6;
export const SR_TR = 7;
export const AR_UNUSABLE = 0x10000;
export const G_GDTR_BASE = 0x0c0;
export const G_GDTR_LIMIT = 0x0c4;
export const G_IDTR_BASE = 0x0c8;
export const G_IDTR_LIMIT = 0x0cc;
export const G_DR = 0x0d0; // DR0-DR7, 8 x 4 bytes
export const G_INTERRUPTIBILITY = 0x0f0; // bit 0 blocking by STI, bit 1 blocking by MOV SS
export const G_ACTIVITY = 0x0f4; // 0 active, 1 HLT
export const G_TSC_LO = 0x0f8; // 64-bit TSC offset: RDTSC reads retired instructions + offset
export const G_TSC_HI = 0x0fc;
export const G_INSTRET_LO = 0x100; // 64-bit count of retired guest instructions
export const G_INSTRET_HI = 0x104;
export const G_CPL = 0x108; // current privilege level (read-only for the VMM)
export const G_MSR_SYSENTER_CS = 0x110;
export const G_MSR_SYSENTER_ESP = 0x114;
export const G_MSR_SYSENTER_EIP = 0x118;
// EFER (MSR C000_0080h), bits 31:0; it exists only on the AMD personality (src/vmm/svm/), where
// SVME (bit 12) is the one bit this CPU has (no long mode, NX or SYSCALL). 0 on Intel's P6.
export const G_EFER = 0x11c;
export const EFER_SVME = 1 << 12;

export const ACTIVITY_ACTIVE = 0;
export const ACTIVITY_HLT = 1;
export const INTERRUPTIBILITY_STI = 1;
export const INTERRUPTIBILITY_MOV_SS = 2;

// ---- VM-execution controls -------------------------------------------------------------------
export const C_PIN = 0x200;
export const C_PRIMARY = 0x204;
export const C_EXCEPTION_BITMAP = 0x208;
export const C_CR0_MASK = 0x20c;
export const C_CR0_SHADOW = 0x210;
export const C_CR4_MASK = 0x214;
export const C_CR4_SHADOW = 0x218;
export const C_CR3_TARGET_COUNT = 0x21c;
export const C_CR3_TARGETS = 0x220; // four 32-bit values
export const C_PREEMPTION_TIMER = 0x230; // instructions until a preemption-timer exit (reason 52)
// Interrupt-flag mode (docs/design.md, "Interrupt-flag modes"): how CLI/STI/PUSHF/POPF/IRET behave.
export const C_IF_MODE = 0x234;
export const IF_MODE_VT = 0; // virtual IF owned by the guest, no exits
export const IF_MODE_TRAP = 1; // every IF-sensitive instruction exits (reasons 0x100-0x104)
export const IF_MODE_CLASSIC = 2; // pre-VT deprivileging: CLI/STI fault, POPF keeps the real IF
export const IF_MODE_BT = 3; // deprivileged as classic, but CPL-0 code runs only as translated code (assembly/bt/)
// What SGDT/SIDT/SMSW reveal in classic mode: the VMM's own descriptor tables and CR0 (SLDT/STR: C_VMM_LDTR, C_VMM_TR).
export const C_VMM_GDTR_BASE = 0x238;
export const C_VMM_GDTR_LIMIT = 0x23c;
export const C_VMM_IDTR_BASE = 0x240;
export const C_VMM_IDTR_LIMIT = 0x244;
export const C_VMM_CR0 = 0x248;
// Non-zero: the core may run hot blocks through the compiling tier (src/jit/). init() sets it.
export const C_JIT = 0x24c;
// A guest-physical range whose writes exit (EXIT_WRITE_TRAP), so the VMM can watch a frame buffer
// write by write. Size 0: nothing is trapped.
export const C_WRITE_TRAP_BASE = 0x250;
export const C_WRITE_TRAP_SIZE = 0x254;
// Device memory (the std-VGA's video RAM, DEVICE_MEMORY_BYTES of host memory after guest RAM):
// guest-physical addresses base .. base + size - 1 reach it, where the VMM maps it (its PCI BAR 0);
// size 0: unmapped, and the addresses are unassigned again. RAM below ramSize wins over it.
export const C_DEVICE_MEMORY_BASE = 0x278;
export const C_DEVICE_MEMORY_SIZE = 0x27c;
export const DEVICE_MEMORY_BYTES = 0x200000; // 2 MiB: 800x600 at 32 bpp, rounded up to a power of two
// Non-zero: host work the guest causes (the shadow MMU scanning its tables, compiling a block) is
// counted, and once it reaches what is left of the budget the entry ends with a preemption-timer
// exit whose qualification is PREEMPTION_HOST_WORK, the budget left as it was: the VMM looks at
// the wall clock and resumes, and nothing the guest can see changes. Zero (a bare core, as the tests
// and the fuzzer use): not counted. The VMM sets it (vmcs-setup.ts).
export const C_HOST_WORK_YIELD = 0x25c;
export const PREEMPTION_HOST_WORK = 1;
// Clean fields, as in Hyper-V's enlightened VMCS: a set bit says the VMM has not written that group
// of fields since the last VM exit, so VM entry may keep what the core derived from them. The core
// sets every bit at exit; every VMM write to a field of a group clears its bit (src/core/vmcs.ts).
// Zero, as init() and a restored machine leave it, makes the next entry reload everything.
export const C_CLEAN_FIELDS = 0x258;
export const CLEAN_SEGMENTS = 1 << 0; // G_SEG: ES CS SS DS FS GS LDTR TR
export const CLEAN_CONTROL_REGS = 1 << 1; // G_CR0, G_CR3, G_CR4
export const CLEAN_CONTROLS = 1 << 2; // C_IF_MODE, C_JIT, C_WRITE_TRAP_BASE/SIZE, C_DEVICE_MEMORY_BASE/SIZE
// G_EFLAGS, G_ACTIVITY, G_INTERRUPTIBILITY, E_INTR_INFO, C_PRIMARY: nothing is derived from them,
// but an exit delivered inside a compiled block may let the block go on only while none changed
// (assembly/vm/run.ts deliverExitInBlock), which this one bit says instead of five compares.
export const CLEAN_ENTRY_STATE = 1 << 3;
// The groups the core derives state from: a write to any of them is a mode change.
export const CLEAN_DERIVED = CLEAN_SEGMENTS | CLEAN_CONTROL_REGS | CLEAN_CONTROLS;
export const CLEAN_ALL = CLEAN_DERIVED | CLEAN_ENTRY_STATE;

// VMCS shadowing (SDM 25.10, VMREAD/VMWRITE in chapter 31), as L0 uses it for a guest hypervisor
// (src/vmm/nested/vmcs-shadowing.ts): with CTL2_VMCS_SHADOWING set, the guest's VMREAD and VMWRITE
// of a field the field table (below) supports complete in the core (assembly/cpu/vmcs-shadowing.ts)
// on the shadow VMCS at guest-physical C_VMCS_LINK instead of exiting. Zero (init()): every one exits.
export const C_SECONDARY = 0x260;
export const CTL2_VMCS_SHADOWING = 1 << 14;
export const C_VMCS_LINK = 0x264;
// What SLDT and STR reveal in classic mode (beside C_VMM_CR0 above): the VMM's LDTR and TR selectors.
export const C_VMM_LDTR = 0x268;
export const C_VMM_TR = 0x26c;
// SVM's CR intercept vectors (APM Vol. 2 15.9.1), as L0 runs the guest of a guest hypervisor on
// AMD (src/vmm/svm/): bit n makes every MOV from CRn exit, bit 16 + n every MOV to CRn (CLTS and
// LMSW are writes of CR0), whatever the value, with the CR-access exit (reason 28). Zero: none.
export const C_CR_INTERCEPTS = 0x270;
export const CR_WRITE_INTERCEPTS = 16;
// The field table (the core's vmcsFieldTable()): a u16 per encoding below FIELD_TABLE_ENTRIES, written
// by the VMM from its one description of the fields and of the shadow VMCS's layout
// (src/vmm/nested/vmcs12-fields.ts). It plays the part of the SDM's VMREAD and VMWRITE bitmaps
// (a field it does not support, or a read-only one for VMWRITE, exits) and tells where each field lives.
export const FIELD_TABLE_ENTRIES = 0x8000; // encodings with bits 31:15 clear
export const FIELD_SUPPORTED = 1 << 15;
export const FIELD_READ_ONLY = 1 << 14; // VMWRITE exits (VMfailValid 13 from the VMM)
export const FIELD_16_BIT = 1 << 13; // holds 16 bits: VMREAD and VMWRITE keep bits 15:0
export const FIELD_CLEARS_HIGH = 1 << 12; // a 64-bit field's full encoding: VMWRITE zeroes its high half (the next word)
export const FIELD_WORD = 0x3ff; // the field's 32-bit word in the shadow VMCS's 4 KiB region

// Primary processor-based controls (bit numbers as in the SDM, Table 25-6).
export const CTL_INTERRUPT_WINDOW = 1 << 2;
export const CTL_HLT_EXITING = 1 << 7;
export const CTL_INVLPG_EXITING = 1 << 9;
export const CTL_RDTSC_EXITING = 1 << 12;
export const CTL_CR3_LOAD_EXITING = 1 << 15;
export const CTL_CR3_STORE_EXITING = 1 << 16; // the VMM sets it only for a nested guest (src/vmm/nested/)
export const CTL_UNCONDITIONAL_IO = 1 << 24;
export const CTL_USE_IO_BITMAPS = 1 << 25;
export const CTL_USE_MSR_BITMAPS = 1 << 28; // offered to a guest hypervisor only (src/vmm/nested/)

// ---- VM-exit information ---------------------------------------------------------------------
export const X_REASON = 0x280;
export const X_QUALIFICATION = 0x284;
export const X_GUEST_LINEAR = 0x288;
export const X_INSTRUCTION_LENGTH = 0x28c;
export const X_INTR_INFO = 0x290;
export const X_INTR_ERROR = 0x294;
export const X_INSTRUCTION_INFO = 0x298;
export const X_GUEST_PHYSICAL = 0x29c; // guest-physical address of a write-trap exit
// The event being delivered through the IDT when the exit happened (SDM 27.2.4's IDT-vectoring
// information, APM 15.7.2's EXITINTINFO), in the interruption-information format below, with its
// error code: an exception exit's (the injected event, an interrupt, or the exception whose
// delivery faulted; not for a #DF that exits) or a write trap's on the frame it pushed; 0 at every
// other exit (a triple fault's too). For a software event X_INSTRUCTION_LENGTH is its instruction's.
export const X_VECTORING_INFO = 0x2b0;
export const X_VECTORING_ERROR = 0x2b4;

// ---- Statistics the core keeps (read-only for the VMM; published at every VM exit) -----------
export const STAT_TLB_MISSES = 0x300;
export const STAT_HIDDEN_FAULTS = 0x304; // shadow misses resolved by a guest walk, unseen by the guest
export const STAT_GUEST_PAGE_FAULTS = 0x308; // #PF the guest's own tables raised
export const STAT_PT_WRITE_TRAPS = 0x30c; // guest writes to its page tables (shadows invalidated)
export const STAT_SHADOW_PAGES = 0x310; // shadow page tables in use
export const STAT_SHADOW_ROOTS_BUILT = 0x314; // address spaces given a new shadow
export const STAT_SHADOW_ROOTS_REUSED = 0x318; // switches that found an existing shadow
export const STAT_SHADOW_FLUSHES = 0x31c; // times every shadow was dropped
export const STAT_CR3_TARGET_HITS = 0x320; // MOV to CR3 that matched a CR3-target value: no exit
export const STAT_COMPILED_INSTRUCTIONS_LO = 0x328; // u64: guest instructions retired by compiled blocks
export const STAT_HOST_WORK_LO = 0x330; // u64: host work the guest caused in the core (cpu/retirement.ts units)
// Binary translation (--if-mode bt, assembly/bt/): u64 counts. Blocks translated and their bytes,
// translations forgotten because the guest wrote their code, then one count per rewrite kind (the
// times translated code performed it), at STAT_BT_KINDS_LO + 8 * (kind - 1).
export const STAT_BT_BLOCKS_LO = 0x340;
export const STAT_BT_BYTES_LO = 0x348;
export const STAT_BT_INVALIDATIONS_LO = 0x350;
export const STAT_BT_KINDS_LO = 0x358;
// The rewrite kinds. 0: copied as it is (IDENT). Inline emulations against the virtual CPU:
export const BT_IDENT = 0;
export const BT_CLI = 1; // a store to the virtual IF, no exit
export const BT_STI = 2;
export const BT_PUSHF = 3; // PUSHF/POPF with the virtual IF merged
export const BT_POPF = 4;
export const BT_STATE_READ = 5; // SGDT, SIDT, SLDT, STR, SMSW: the virtual values
export const BT_SEGMENT_READ = 6; // MOV from CS/SS, PUSH CS/SS, far CALL's pushed CS: RPL 0
export const BT_PRIVILEGE_CHECK = 7; // LAR, LSL, VERR, VERW: the virtual privilege
// Callouts to the VMM's emulation (they end the translated block):
export const BT_CONTROL_REGISTER = 8; // MOV to/from CR, CLTS, LMSW
export const BT_DEBUG_REGISTER = 9; // MOV to/from DR
export const BT_TABLE_LOAD = 10; // LGDT, LIDT, LLDT, LTR
export const BT_IRET = 11;
export const BT_INTERRUPT_DELIVERY = 12; // the virtual IF was set while an interrupt waits: the VMM delivers it
export const BT_KINDS = 12;
export const BT_FIRST_CALLOUT = BT_CONTROL_REGISTER;

// ---- VM-entry information --------------------------------------------------------------------
// Interruption-information format (SDM 24.8.3): vector 0-7, type 8-10, deliver error code 11,
// valid 31. Types: 0 external interrupt, 3 hardware exception, 4 software interrupt.
export const E_INTR_INFO = 0x2a0;
export const E_INTR_ERROR = 0x2a4;
export const E_INSTRUCTION_LENGTH = 0x2a8;
export const INTR_VALID = 1 << 31;
export const INTR_HAS_ERROR = 1 << 11;
export const INTR_TYPE_EXTERNAL = 0 << 8;
export const INTR_TYPE_HW_EXCEPTION = 3 << 8;
export const INTR_TYPE_SW_INTERRUPT = 4 << 8;

// ---- Exit reasons (Intel SDM, Appendix C) ----------------------------------------------------
export const EXIT_EXCEPTION = 0;
export const EXIT_EXTERNAL_INTERRUPT = 1;
export const EXIT_TRIPLE_FAULT = 2;
export const EXIT_INTERRUPT_WINDOW = 7;
export const EXIT_CPUID = 10;
export const EXIT_HLT = 12;
export const EXIT_INVLPG = 14;
export const EXIT_RDTSC = 16;
export const EXIT_VMCALL = 18;
// The VMX instructions (assembly/cpu/vmx-instructions.ts; emulated by src/vmm/nested/). The
// qualification is a memory operand's displacement; X_INSTRUCTION_INFO describes the operands.
export const EXIT_VMCLEAR = 19;
export const EXIT_VMLAUNCH = 20;
export const EXIT_VMPTRLD = 21;
export const EXIT_VMPTRST = 22;
export const EXIT_VMREAD = 23;
export const EXIT_VMRESUME = 24;
export const EXIT_VMWRITE = 25;
export const EXIT_VMXOFF = 26;
export const EXIT_VMXON = 27;
export const EXIT_CR_ACCESS = 28;
export const EXIT_IO = 30;
export const EXIT_RDMSR = 31;
export const EXIT_WRMSR = 32;
// A write into C_WRITE_TRAP_BASE/SIZE; qualification bit 1 = write. There is no EPT: 48 is the
// SDM's number for an EPT violation, the exit a real VMM would trap such a write with.
export const EXIT_WRITE_TRAP = 48;
export const EXIT_PREEMPTION_TIMER = 52;
// Ours, above the SDM's range: IF-sensitive instructions in trap mode. Qualification = operand
// size in bytes. The VMM completes them with the core's `emulate()`.
export const EXIT_CLI = 0x100;
export const EXIT_STI = 0x101;
export const EXIT_PUSHF = 0x102;
export const EXIT_POPF = 0x103;
export const EXIT_IRET = 0x104;
// Ours too: the SVM instructions (assembly/cpu/svm-instructions.ts), which exit once the core's
// checks pass (#UD without EFER.SVME or protected mode, #GP(0) at CPL > 0), numbered 0x100 + the
// APM's #VMEXIT code of the instruction's intercept (APM Vol. 2, appendix C). No qualification.
export const SVM_EXIT_BASE = 0x100;
export const EXIT_SVM_INVLPGA = SVM_EXIT_BASE + 0x7a;
export const EXIT_SVM_VMRUN = SVM_EXIT_BASE + 0x80;
export const EXIT_SVM_VMMCALL = SVM_EXIT_BASE + 0x81;
export const EXIT_SVM_VMLOAD = SVM_EXIT_BASE + 0x82;
export const EXIT_SVM_VMSAVE = SVM_EXIT_BASE + 0x83;
export const EXIT_SVM_STGI = SVM_EXIT_BASE + 0x84;
export const EXIT_SVM_CLGI = SVM_EXIT_BASE + 0x85;

// VM-exit instruction information of the VMX instructions (SDM Vol. 3C tables 28-9 and 28-13):
// scaling 0-1, VMREAD/VMWRITE's r/m register 3-6, address size 7-9 (0 16-bit, 1 32-bit), bit 10
// set for a register operand, segment 15-17, index register 18-21, base register 23-26, and
// VMREAD/VMWRITE's other register (ModR/M.reg) 28-31.
export const VMX_INFO_REGISTER = 1 << 10;
export const VMX_INFO_NO_INDEX = 1 << 22;
export const VMX_INFO_NO_BASE = 1 << 27;

// I/O-instruction exit qualification (SDM Table 28-5): size-1 in bits 0-2, direction in bit 3
// (1 = IN), string in bit 4, REP in bit 5, port in bits 16-31.
export const IOQ_IN = 1 << 3;
export const IOQ_STRING = 1 << 4;
export const IOQ_REP = 1 << 5;
