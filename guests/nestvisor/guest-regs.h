/* guest-regs.h - for vmx-enter.S and svm-enter.S: struct guest_regs (nestvisor.h) as offsets, and
 * moving L2's ECX, EDX, EBX, EBP, ESI and EDI between it and the CPU (EAX and ESP each stub
 * handles its own way). */
#define REGS_EAX 0
#define REGS_ECX 4
#define REGS_EDX 8
#define REGS_EBX 12
#define REGS_EBP 16
#define REGS_ESI 20
#define REGS_EDI 24

/* Load L2's registers from the struct at \regs (a register other than those loaded). */
.macro load_l2_regs regs
        movl REGS_ECX(\regs), %ecx
        movl REGS_EDX(\regs), %edx
        movl REGS_EBX(\regs), %ebx
        movl REGS_EBP(\regs), %ebp
        movl REGS_ESI(\regs), %esi
        movl REGS_EDI(\regs), %edi
.endm

/* Store them into the struct at \regs. */
.macro save_l2_regs regs
        movl %ecx, REGS_ECX(\regs)
        movl %edx, REGS_EDX(\regs)
        movl %ebx, REGS_EBX(\regs)
        movl %ebp, REGS_EBP(\regs)
        movl %esi, REGS_ESI(\regs)
        movl %edi, REGS_EDI(\regs)
.endm
