/* vmx.h - the VMX instructions as C functions, and the VMCS field encodings, MSRs and bits
 * nestvisor uses (Intel SDM Vol. 3C chapters 24-27 and Vol. 3D appendices A and B). */
#ifndef VMX_H
#define VMX_H
#include "msr.h"

/* MSRs */
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_EIP 0x176
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489

#define FEATURE_CONTROL_LOCKED (1u << 0)
#define FEATURE_CONTROL_VMX (1u << 2) /* VMXON outside SMX */


/* Primary processor-based controls */
#define CPU_HLT_EXITING (1u << 7)
#define CPU_UNCONDITIONAL_IO_EXITING (1u << 24)
#define CPU_USE_MSR_BITMAPS (1u << 28)

/* VMCS fields (appendix B); natural-width fields are 32 bits wide on this 32-bit CPU. */
enum vmcs_field {
    GUEST_ES_SELECTOR = 0x0800, GUEST_CS_SELECTOR = 0x0802, GUEST_SS_SELECTOR = 0x0804,
    GUEST_DS_SELECTOR = 0x0806, GUEST_FS_SELECTOR = 0x0808, GUEST_GS_SELECTOR = 0x080a,
    GUEST_LDTR_SELECTOR = 0x080c, GUEST_TR_SELECTOR = 0x080e,
    HOST_ES_SELECTOR = 0x0c00, HOST_CS_SELECTOR = 0x0c02, HOST_SS_SELECTOR = 0x0c04,
    HOST_DS_SELECTOR = 0x0c06, HOST_FS_SELECTOR = 0x0c08, HOST_GS_SELECTOR = 0x0c0a,
    HOST_TR_SELECTOR = 0x0c0c,
    MSR_BITMAP = 0x2004, MSR_BITMAP_HIGH = 0x2005,
    VMCS_LINK_POINTER = 0x2800, VMCS_LINK_POINTER_HIGH = 0x2801,
    GUEST_DEBUGCTL = 0x2802, GUEST_DEBUGCTL_HIGH = 0x2803,
    PIN_CONTROLS = 0x4000, PRIMARY_CONTROLS = 0x4002, EXCEPTION_BITMAP = 0x4004,
    CR3_TARGET_COUNT = 0x400a, EXIT_CONTROLS = 0x400c, EXIT_MSR_STORE_COUNT = 0x400e,
    EXIT_MSR_LOAD_COUNT = 0x4010, ENTRY_CONTROLS = 0x4012, ENTRY_MSR_LOAD_COUNT = 0x4014,
    ENTRY_INTERRUPTION_INFO = 0x4016, ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
    VM_INSTRUCTION_ERROR = 0x4400, EXIT_REASON = 0x4402, EXIT_INSTRUCTION_LENGTH = 0x440c,
    GUEST_ES_LIMIT = 0x4800, GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e,
    GUEST_GDTR_LIMIT = 0x4810, GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_ACCESS_RIGHTS = 0x4814, GUEST_LDTR_ACCESS_RIGHTS = 0x4820, GUEST_TR_ACCESS_RIGHTS = 0x4822,
    GUEST_INTERRUPTIBILITY = 0x4824, GUEST_ACTIVITY_STATE = 0x4826, GUEST_SYSENTER_CS = 0x482a,
    HOST_SYSENTER_CS = 0x4c00,
    CR0_GUEST_HOST_MASK = 0x6000, CR4_GUEST_HOST_MASK = 0x6002, CR0_READ_SHADOW = 0x6004,
    CR4_READ_SHADOW = 0x6006, CR3_TARGET_0 = 0x6008,
    EXIT_QUALIFICATION = 0x6400,
    GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804, GUEST_ES_BASE = 0x6806,
    GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e,
    GUEST_RFLAGS = 0x6820, GUEST_PENDING_DEBUG_EXCEPTIONS = 0x6822, GUEST_SYSENTER_ESP = 0x6824,
    GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
    HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c, HOST_IDTR_BASE = 0x6c0e,
    HOST_SYSENTER_ESP = 0x6c10, HOST_SYSENTER_EIP = 0x6c12, HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};
/* The eight segment registers' fields are in the SDM's order ES CS SS DS FS GS LDTR TR, two
 * encodings apart: GUEST_ES_x + 2 * n is segment n's field x. */
enum segment { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

/* Basic exit reasons (appendix C) that nestvisor handles or names. */
enum exit_reason {
    EXIT_TRIPLE_FAULT = 2, EXIT_TASK_SWITCH = 9, EXIT_CPUID = 10, EXIT_HLT = 12, EXIT_INVD = 13,
    EXIT_VMCALL = 18, EXIT_VMXON = 27, EXIT_CR_ACCESS = 28, EXIT_IO = 30, EXIT_RDMSR = 31,
    EXIT_WRMSR = 32, EXIT_INVALID_GUEST_STATE = 33, EXIT_MSR_LOADING = 34,
    EXIT_REASON_COUNT = 65,
};
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* The outcome of a VMX instruction is in the flags: CF = VMfailInvalid, ZF = VMfailValid. */
#define VMX_FAILED(flags) ((flags) & 0x41)

/* VMXON, VMCLEAR and VMPTRLD take the physical address of a 4 KiB region, as a 64-bit operand. */
#define VMX_REGION_OP(name, insn)                                                                   \
    static inline u32 name(u32 region)                                                              \
    {                                                                                               \
        u64 pointer = region;                                                                       \
        u32 flags;                                                                                  \
        __asm__ volatile(insn " %1\n\tpushf\n\tpop %0" : "=r"(flags) : "m"(pointer) : "cc", "memory"); \
        return flags;                                                                               \
    }
VMX_REGION_OP(vmxon, "vmxon")
VMX_REGION_OP(vmclear, "vmclear")
VMX_REGION_OP(vmptrld, "vmptrld")

static inline void vmxoff(void) { __asm__ volatile("vmxoff" : : : "cc"); }

static inline u32 vmread(u32 field)
{
    u32 value;
    __asm__ volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
    return value;
}

static inline u32 vmwrite(u32 field, u32 value)
{
    u32 flags;
    __asm__ volatile("vmwrite %1, %2\n\tpushf\n\tpop %0" : "=r"(flags) : "rm"(value), "r"(field) : "cc");
    return flags;
}

#endif
