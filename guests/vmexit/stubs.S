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
