/* svm-enter.S - VMRUN that returns like a function call, as KVM's svm_vcpu_run does:
 *
 *     void svm_enter(struct guest_regs *regs, u32 vmcb);
 *
 * loads L2's general registers from *regs but EAX (EAX, ESP, EIP and EFLAGS are in the VMCB; EAX
 * must hold the VMCB's address for VMRUN) and runs L2. #VMEXIT gives L1 back its EAX and ESP
 * (the host-save area) and leaves L2's other registers in place: they go back into *regs. The
 * #VMEXIT cleared GIF; STGI sets it again, so that L1 is interruptible as before. */

#include "guest-regs.h"

        .text
        .globl svm_enter
svm_enter:
        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi
        movl 20(%esp), %eax             /* regs */
        pushl %eax                      /* kept on the frame for after the #VMEXIT */
        load_l2_regs %eax
        movl 28(%esp), %eax             /* vmcb */
        vmrun
        movl (%esp), %eax
        save_l2_regs %eax
        stgi
        addl $4, %esp
        popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret
        .section .note.GNU-stack,"",@progbits
