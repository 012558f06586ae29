/* svm.h - the VMCB's layout, the intercept bits, exit codes and MSRs of AMD's SVM that the guest
 * hypervisors (svmentry, nestvisor) use (AMD APM Vol. 2, chapter 15 and appendix B). */
#ifndef SVM_H
#define SVM_H
#include "msr.h"

/* VMCB offsets: the control area, then the state-save area from 0x400. */
enum {
    CR_INTERCEPTS = 0x000, EXCEPTION_INTERCEPTS = 0x008, INTERCEPTS_1 = 0x00c, INTERCEPTS_2 = 0x010,
    IOPM_BASE = 0x040, MSRPM_BASE = 0x048, GUEST_ASID = 0x058, V_INTR = 0x060, V_INTR_VECTOR = 0x064,
    INTERRUPT_SHADOW = 0x068, EXITCODE = 0x070, EXITINFO1 = 0x078,
    EXITINFO2 = 0x080, EXITINTINFO = 0x088, EVENTINJ = 0x0a8, EVENTINJ_ERROR_CODE = 0x0ac, NRIP = 0x0c8,
    SAVE_ES = 0x400, SAVE_GDTR = 0x460, SAVE_IDTR = 0x480, SAVE_CPL = 0x4cb, SAVE_EFER = 0x4d0, SAVE_CR4 = 0x548,
    SAVE_CR3 = 0x550, SAVE_CR0 = 0x558, SAVE_DR7 = 0x560, SAVE_DR6 = 0x568, SAVE_RFLAGS = 0x570, SAVE_RIP = 0x578,
    SAVE_RSP = 0x5d8, SAVE_RAX = 0x5f8,
};
/* The state-save area's segments, 16 bytes each from SAVE_ES, in this order. */
enum svm_segment { SVM_ES, SVM_CS, SVM_SS, SVM_DS, SVM_FS, SVM_GS, SVM_GDTR, SVM_LDTR, SVM_IDTR, SVM_TR };

/* INTERCEPTS_1 */
#define INTERCEPT_VINTR (1u << 4)
#define INTERCEPT_CPUID (1u << 18)
#define INTERCEPT_HLT (1u << 24)
#define INTERCEPT_IOIO (1u << 27)
#define INTERCEPT_MSR (1u << 28)
#define INTERCEPT_SHUTDOWN (1u << 31)
/* INTERCEPTS_2 */
#define INTERCEPT_VMRUN (1u << 0)
#define INTERCEPT_VMMCALL (1u << 1)

/* V_INTR: V_TPR 7:0, V_IRQ 8, V_INTR_PRIO 19:16, V_IGN_TPR 20 */
#define V_IRQ (1u << 8)
#define V_IGN_TPR (1u << 20)

/* Exit codes (appendix C) */
enum svm_exit_code {
    SVM_EXIT_CPUID = 0x72, SVM_EXIT_HLT = 0x78, SVM_EXIT_IOIO = 0x7b, SVM_EXIT_MSR = 0x7c,
    SVM_EXIT_SHUTDOWN = 0x7f, SVM_EXIT_VMRUN = 0x80, SVM_EXIT_VMMCALL = 0x81,
    SVM_EXIT_CODE_COUNT = 0x90, SVM_EXIT_INVALID = 0xffffffffu,
};

/* IOIO's EXITINFO1 */
#define IOIO_IN (1u << 0)
#define IOIO_STRING (1u << 2)
#define IOIO_SIZE_SHIFT 4 /* one bit each for 8, 16 and 32 bits */

#define MSR_EFER 0xc0000080u
#define EFER_SVME (1u << 12)
#define MSR_VM_HSAVE_PA 0xc0010117u

#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_8000000A_EDX_NRIPS (1u << 3)

#endif
