/* boot.S - a boot sector that enters 16-bit protected mode and prints over COM1 from there: an L2
 * for guests/nestvisor that SVM runs as it is, paging off and 16-bit segments (issue 19 item 3),
 * and that VMX without unrestricted guest refuses already at its start in real mode. Built as
 * pm16.bin, 512 bytes ending with the boot signature, linked for 0000:7C00 where a BIOS (or
 * nestvisor) starts it. It uses no BIOS service: COM1 by polling its line status, the debug-exit
 * port 0xF4 (status 0) to end, HLT if that returns. It enters protected mode as a 286 program
 * would (LMSW), and shows what only 16-bit protected mode prints: the machine status word with PE
 * set (and PG clear), selectors that name descriptors (two segment bases that reach the same byte), a segment
 * limit of 64 KiB that a word at FFFFh crosses, and the #GP that raises through a 286 interrupt
 * gate, whose frame is of 16-bit words. */
        .code16
        .text
        .globl _start
_start:
        cli
        xorw %ax, %ax
        movw %ax, %ds
        movw %ax, %ss
        movw $0x7c00, %sp
        lgdt gdtr
        lidt idtr
        smsw %ax
        orw $1, %ax
        lmsw %ax
        ljmp $CODE, $protected
protected:
        movw $DATA, %ax
        movw %ax, %ds
        movw %ax, %ss
        movw $hello, %si
        call print
        movw $msw, %si
        call print
        smsw %ax
        call print_hex16
        movw $cs_is, %si
        call print
        movw %cs, %ax
        call print_hex16
        /* Selector BASE_12340 at 0 and selector BASE_10000 at 2340h are both linear 12340h. */
        movw $BASE_12340, %ax
        movw %ax, %es
        movw $BASE_10000, %ax
        movw %ax, %fs
        movb $0x5a, %es:0
        movw $bases_differ, %si
        cmpb $0x5a, %fs:0x2340
        jne 2f
        movw $bases_same, %si
2:      call print
        /* A word at FFFFh runs past the 64 KiB limit: #GP(0), through vector 13's 286 gate. */
        movw %sp, stack_before
        movw $0xffff, %bx
        movw %es:(%bx), %ax
        movw $no_fault, %si
        call print
after_fault:
        movw $bye, %si
        call print
        xorb %al, %al
        outb %al, $0xf4
3:      hlt
        jmp 3b

/* Vector 13, a 286 interrupt gate: its frame is the error code, IP, CS and FLAGS, a word each. */
general_protection:
        movw $gp_is, %si
        call print
        movw %sp, %bp
        movw (%bp), %ax                 /* the error code */
        call print_hex16
        movw $frame_is, %si
        call print
        movw stack_before, %ax
        subw %sp, %ax
        call print_hex16
        movw $bytes, %si
        call print
        movw $after_fault, 2(%bp)       /* go on after the faulting instruction */
        addw $2, %sp
        iret

        .include "lib/print16.inc"

        .set CODE, 0x08
        .set DATA, 0x10
        .set BASE_12340, 0x18
        .set BASE_10000, 0x20
        .balign 8
/* 16-bit segments (D/B and G clear), limit FFFFh: code and data at 0, data at 12340h and 10000h. */
gdt:    .quad 0
        .quad 0x00009a000000ffff
        .quad 0x000092000000ffff
        .quad 0x000092012340ffff
        .quad 0x000092010000ffff
/* Vector 13's gate, a 286 interrupt gate (type 6) to general_protection. The IDT's base is 13
 * entries before it, so that vectors 0-12 are whatever bytes lie there: no other exception is
 * expected, and one would end in a triple fault. */
gp_gate: .word general_protection, CODE, 0x8600, 0
gdtr:   .word 5 * 8 - 1
        .long gdt
idtr:   .word 14 * 8 - 1
        .long gp_gate - 13 * 8
stack_before: .word 0

hello:  .asciz "Hello from L2 in 16-bit protected mode\n"
msw:    .asciz "MSW "
cs_is:  .asciz ", CS "
bases_same: .asciz "\n18:0000 = 20:2340 (bases 12340, 10000)\n"
bases_differ: .asciz "\n18:0000 != 20:2340\n"
gp_is:  .asciz "word at FFFF: #GP("
frame_is: .asciz ") via a 286 gate, frame of "
bytes:  .asciz " bytes\n"
no_fault: .asciz "no #GP\n"
bye:    .asciz "goodbye\n"

        .org 510
        .byte 0x55, 0xaa
        .section .note.GNU-stack,"",@progbits
