/* stubs.S - the vmexit guest's interrupt entry points. The two interrupts the tests take are
 * kept as short as a real driver's fast path: the PIT's (vector 0x20) acknowledges the PIC and
 * counts; COM1's (vector 0x24) acknowledges the THRE interrupt by reading IIR, disables it again
 * so the next test iteration can raise it anew, acknowledges the PIC and counts. Every other
 * vector below 0x30 is unexpected: its stub pushes the vector number and calls
 * unexpected_vector(), which reports it and ends the run. */

        .text
        .globl timer_stub
timer_stub:
        pushl %eax
        movb $0x20, %al
        outb %al, $0x20                 /* EOI to the master PIC */
        incl interrupts_taken
        popl %eax
        iret

        .globl com1_stub
com1_stub:
        pushl %eax
        pushl %edx
        movw $0x3fa, %dx
        inb %dx, %al                    /* IIR: reading it acknowledges THRE */
        movw $0x3f9, %dx
        xorb %al, %al
        outb %al, %dx                   /* IER = 0 */
        movb $0x20, %al
        outb %al, $0x20
        incl interrupts_taken
        popl %edx
        popl %eax
        iret

/* unexpected_stubs: 0x30 entries, 16 bytes apart. */
        .balign 16
        .globl unexpected_stubs
unexpected_stubs:
        .set vector, 0
        .rept 0x30
        .balign 16
        pushl $vector
        jmp 1f
        .set vector, vector + 1
        .endr
1:      call unexpected_vector          /* does not return */

/* Adams & Agesen's nanobenchmarks (tests.c). user_loop(n, syscalls): enter ring 3 with IRET, run
 * n iterations of `int $0x80` (or of nothing), return to ring 0 with `int $0x81`, whose handler
 * drops its frame and returns to user_loop's caller. DS, ES, FS and GS hold ring-0 selectors,
 * which the IRET to ring 3 nulls: the loop touches only registers, the return handler reads
 * kernel_esp through SS (the TSS's ring-0 stack segment) and reloads them. */
        .globl user_loop
user_loop:
        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi
        movl 20(%esp), %esi             /* n */
        movl 24(%esp), %ecx             /* syscalls */
        movl %esp, kernel_esp
        pushl $0x23                     /* SS: ring-3 data */
        pushl $user_stack_top
        pushfl
        pushl $0x1b                     /* CS: ring-3 code */
        pushl $1f
        iret
1:      testl %ecx, %ecx
        jz 3f
2:      int $0x80
        decl %esi
        jnz 2b
        int $0x81
3:      decl %esi
        jnz 3b
        int $0x81

        .globl syscall_stub
syscall_stub:
        iret

        .globl user_return_stub
user_return_stub:
        movl %ss:kernel_esp, %esp
        movl $0x10, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %fs
        movl %eax, %gs
        popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret

        .globl empty_function
empty_function:
        ret

/* #DE: no error code. #PF: an error code, dropped first. Both resume after the faulting
 * instruction, which the tests make 2 bytes long. */
        .globl skip_fault_stub
skip_fault_stub:
        addl $2, (%esp)
        iret

        .globl skip_fault_error_stub
skip_fault_error_stub:
        addl $4, %esp
        addl $2, (%esp)
        iret

        .bss
        .balign 16
kernel_esp:
        .skip 4
user_stack:
        .skip 1024
user_stack_top:
