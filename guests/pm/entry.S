/* entry.S - interrupt and exception stubs for pm.c, and the ring-3 call of pm.h.
 *
 * Every stub leaves the same layout (struct frame in pm.h): error code (a dummy 0 where the
 * CPU pushes none), vector, then the general and segment registers; pm_dispatch(frame) runs with
 * the kernel's data segments loaded, and whatever the handler left in the frame is restored
 * and IRETed to. */

        .macro STUB vec, has_err
isr_\vec:
        .if \has_err == 0
        pushl $0
        .endif
        pushl $\vec
        jmp isr_common
        .pushsection .rodata
        .long \vec, isr_\vec
        .popsection
        .endm

        .section .rodata
        .balign 4
        .globl pm_stub_table
pm_stub_table:                          /* filled in by STUB: (vector, address) pairs */

        .text
        STUB 0, 0
        STUB 1, 0
        STUB 2, 0
        STUB 3, 0
        STUB 4, 0
        STUB 5, 0
        STUB 6, 0
        STUB 7, 0
        STUB 8, 1
        STUB 9, 0
        STUB 10, 1
        STUB 11, 1
        STUB 12, 1
        STUB 13, 1
        STUB 14, 1
        STUB 16, 0
        STUB 17, 1
        STUB 18, 0
        STUB 19, 0
        .irp irq, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27
        STUB \irq, 0
        .endr
        .irp irq, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f
        STUB \irq, 0
        .endr
        STUB 0x80, 0

        .section .rodata
        .long 0, 0                      /* end of pm_stub_table */

        .text
isr_common:
        pushal
        pushl %ds
        pushl %es
        pushl %fs
        pushl %gs
        movl $0x10, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %fs
        movl %eax, %gs
        cld
        pushl %esp                      /* struct frame * */
        call pm_dispatch
        addl $4, %esp
        popl %gs
        popl %fs
        popl %es
        popl %ds
        popal
        addl $8, %esp                   /* vector and error code */
        iretl

/* u32 user_call(void *fn, u32 a, u32 b, u32 esp): the kernel's callee-saved registers and ESP
 * are kept in user_call_esp; the IRET enters user_trampoline at CPL 3, which calls fn(a, b) and
 * comes back with INT 0x80, whose handler calls user_return(result). */
        .globl user_call
user_call:
        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi
        movl %esp, user_call_esp
        movl 20(%esp), %ebx             /* fn */
        movl 24(%esp), %esi             /* a */
        movl 28(%esp), %edi             /* b */
        movl 32(%esp), %eax             /* user ESP */
        movl $0x23, %ecx
        movl %ecx, %ds                  /* ring-3 data segments (DPL 3 may be loaded at CPL 0) */
        movl %ecx, %es
        movl %ecx, %fs
        movl %ecx, %gs
        pushl $0x23                     /* SS */
        pushl %eax                      /* ESP */
        pushl $0x002                    /* EFLAGS: IF = 0 */
        pushl $0x1b                     /* CS */
        pushl $user_trampoline          /* EIP */
        iretl

/* void user_return(u32 value): back to user_call's caller, on the kernel stack user_call left. */
        .globl user_return
user_return:
        movl 4(%esp), %eax
        movl user_call_esp, %esp
        popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret

/* Ring-3 side of user_call; runs with the page tables' permission for ring 3. */
        .globl user_trampoline
user_trampoline:
        pushl %edi
        pushl %esi
        call *%ebx
        int $0x80                       /* EAX = result; does not return */
        ud2

        .section .bss
        .balign 4
user_call_esp:
        .skip 4
