/* boot.S - a boot sector that runs in real mode and prints over COM1: an L2 for guests/nestvisor
 * that VMX without unrestricted guest cannot run and SVM can (issue 19). Built as realmode.bin,
 * 512 bytes ending with the boot signature, linked for 0000:7C00 where a BIOS (or nestvisor)
 * starts it. It uses no BIOS service: COM1 by polling its line status, the debug-exit port 0xF4
 * (status 0) to end, HLT if that returns. What it shows only real mode can print: the machine
 * status word with PE clear, and two segment:offset pairs that name the same byte. */
        .code16
        .text
        .globl _start
_start:
        cli
        xorw %ax, %ax
        movw %ax, %ds
        movw %ax, %ss
        movw $0x7c00, %sp
        movw $hello, %si
        call print
        movw $msw, %si
        call print
        smsw %ax
        call print_hex16
        movw $pe_clear, %si
        testb $1, %al
        jz 1f
        movw $pe_set, %si
1:      call print
        /* 1234:0010 and 1235:0000 are both physical 12350h */
        movw $0x1234, %ax
        movw %ax, %es
        movb $0x5a, %es:0x10
        movw $0x1235, %ax
        movw %ax, %es
        movw $segments_differ, %si
        cmpb $0x5a, %es:0
        jne 2f
        movw $segments_same, %si
2:      call print
        movw $bye, %si
        call print
        xorb %al, %al
        outb %al, $0xf4
3:      hlt
        jmp 3b

        .include "lib/print16.inc"

hello:  .asciz "Hello from L2 in real mode, a boot sector at 0000:7C00\n"
msw:    .asciz "machine status word "
pe_clear: .asciz ": CR0.PE is clear\n"
pe_set: .asciz ": CR0.PE is set, which it should not be\n"
segments_same: .asciz "1234:0010 and 1235:0000 are the same byte\n"
segments_differ: .asciz "1234:0010 and 1235:0000 differ, which they should not\n"
bye:    .asciz "goodbye\n"

        .org 510
        .byte 0x55, 0xaa
        .section .note.GNU-stack,"",@progbits
