/* isr.S - exception and interrupt entry stubs for the test's own IDT. Each stub makes the
 * stack look the same (a dummy error code where the CPU pushes none, then the vector), saves
 * the registers and calls exc_dispatch(struct frame *) in desc.c, which may change the saved
 * EIP/CS to resume somewhere else. */

        .macro STUB vec, has_err
        .globl isr_\vec
isr_\vec:
        .if \has_err == 0
        pushl $0
        .endif
        pushl $\vec
        jmp isr_common
        .endm

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
        STUB 0x80, 0

isr_common:
        pushal
        pushl %ds
        pushl %es
        pushl %fs
        pushl %gs
        movl $0x10, %eax
        movl %eax, %ds
        movl %eax, %es
        pushl %esp                      /* struct frame * */
        call exc_dispatch
        addl $4, %esp
        popl %gs
        popl %fs
        popl %es
        popl %ds
        popal
        addl $8, %esp                   /* vector and error code */
        iretl

/* Table of stub addresses for vectors 0..19 (0 where the vector is reserved), used by desc.c */
        .section .rodata
        .balign 4
        .globl isr_table
isr_table:
        .long isr_0, isr_1, isr_2, isr_3, isr_4, isr_5, isr_6, isr_7
        .long isr_8, isr_9, isr_10, isr_11, isr_12, isr_13, isr_14, 0
        .long isr_16, isr_17, isr_18, isr_19
