/* vmx-enter.S - a VM entry that returns like a function call, as KVM's vmx_vcpu_run does:
 *
 *     u32 vm_enter(struct guest_regs *regs, u32 launched);
 *
 * loads L2's general registers from *regs (ESP, EIP and EFLAGS are in the VMCS) and runs L2 with
 * VMLAUNCH (launched = 0) or VMRESUME. At the next VM exit the CPU continues at vm_exit (HOST_RIP)
 * with ESP = HOST_RSP, which is this function's own frame: L2's registers go back into *regs and
 * vm_enter returns 0. If the entry itself fails (VMfailInvalid or VMfailValid) it returns the
 * flags, whose CF or ZF says which. HOST_RSP is written only when this frame moved. */

#include "guest-regs.h"
#define HOST_RSP 0x6c14

        .text
        .globl vm_enter, vm_exit
vm_enter:
        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi
        movl 20(%esp), %eax             /* regs */
        movl 24(%esp), %ecx             /* launched */
        pushl %eax                      /* kept on the frame for vm_exit */
        cmpl %esp, host_rsp
        je 1f
        movl $HOST_RSP, %edx
        vmwrite %esp, %edx
        movl %esp, host_rsp
1:      testl %ecx, %ecx                /* the MOVs below keep the flags */
        load_l2_regs %eax
        movl REGS_EAX(%eax), %eax
        jnz 2f
        vmlaunch
        jmp 3f
2:      vmresume
3:      pushfl                          /* the entry failed: L1 goes on with L2's registers */
        popl %eax
        addl $4, %esp
        jmp 4f

vm_exit:                                /* ESP = HOST_RSP: regs, then vm_enter's saved registers */
        pushl %eax
        movl 4(%esp), %eax
        popl REGS_EAX(%eax)
        save_l2_regs %eax
        addl $4, %esp
        xorl %eax, %eax
4:      popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret

        .data
        .balign 4
host_rsp:
        .long 0
