/* regloop.S - benchmark guest: a tight register-only loop for measuring raw MIPS.
 * The iteration count is the first all-digit word of the Multiboot command line arguments,
 * or 100000000 if there is none. Each iteration executes 8 instructions:
 *     add, xor, rol, lea, sub, or, dec, jnz
 * so the loop retires 8 * N instructions (plus a few thousand for start-up and printing).
 * At the end it prints the count and the registers the loop produced (a checksum of the
 * work, so a wrong result shows) and exits with 0. With the word `markers` the loop is framed by
 * markers for a host to time it (markers.h). */

#define DEFAULT_ITERATIONS 100000000

        .text
        .globl kmain
/* int kmain(u32 magic, const struct mb_info *mb) */
kmain:
        pushl %ebx
        pushl %esi
        pushl %edi
        pushl $0                        /* markers only if asked for */
        pushl 24(%esp)                  /* mb */
        call markers_init
        addl $8, %esp
        pushl $DEFAULT_ITERATIONS
        pushl 24(%esp)                  /* mb */
        call mb_cmdline_number          /* EAX = iteration count */
        addl $8, %esp
        pushl %eax                      /* kept for the report */
        pushl $label
        call phase_begin
        addl $4, %esp
        movl (%esp), %eax

        movl %eax, %ecx
        movl $0x12345678, %eax
        movl $0x9e3779b9, %ebx
        xorl %edx, %edx
        movl $1, %esi
        movl $3, %edi
        testl %ecx, %ecx
        jz 2f
        .balign 16
1:      addl %ebx, %eax
        xorl %eax, %edx
        roll $5, %edx
        leal 1(%esi,%edx), %esi
        subl %edi, %ebx
        orl $1, %edi
        decl %ecx
        jnz 1b
2:
        pushl %eax
        pushl %edx
        pushl $label
        call phase_end                  /* preserves EBX, ESI, EDI only */
        addl $4, %esp
        popl %edx
        popl %eax
        popl %ecx
        pushl %esi
        pushl %edx
        pushl %eax
        pushl %ecx
        pushl $fmt
        call kprintf
        addl $20, %esp
        xorl %eax, %eax                 /* exit code 0 */
        popl %edi
        popl %esi
        popl %ebx
        ret

        .section .rodata
fmt:    .asciz "regloop: %u iterations, eax=%08x edx=%08x esi=%08x\n"
label:  .asciz "regloop"
