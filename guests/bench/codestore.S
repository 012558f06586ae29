/* codestore.S - benchmark guest: stores into data that shares a 4 KiB page with the code that
 * stores it, as code and data share pages in a program linked without page alignment. The loop
 * counts down from N (the first all-digit word of the Multiboot command line arguments, or
 * 1000000 if there is none), and each iteration executes 5 instructions:
 *     add, mov (a store into the loop's own page, 128 bytes past its code), xor, dec, jnz
 * A CPU that tracks writes to its translated code per page (QEMU) takes a slow path at every
 * store; wasmvisor tracks 64-byte chunks of a page and the blocks in them, so a store beside a
 * block costs a check. At the end it prints the count and what the loop computed and exits with
 * 0. With the word `markers` the loop is framed by markers for a host to time it (markers.h). */

#define DEFAULT_ITERATIONS 1000000

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
        movl (%esp), %ecx

        movl $0x9e3779b9, %ebx
        xorl %esi, %esi
        testl %ecx, %ecx
        jz 2f
        .balign 128
1:      addl %ebx, %esi
        movl %esi, shared               /* the data on this page */
        xorl %ecx, %ebx
        decl %ecx
        jnz 1b
2:
        pushl $label
        call phase_end                  /* preserves EBX, ESI, EDI only */
        addl $4, %esp
        popl %ecx
        pushl shared
        pushl %ebx
        pushl %ecx
        pushl $fmt
        call kprintf
        addl $16, %esp
        xorl %eax, %eax                 /* exit code 0 */
        popl %edi
        popl %esi
        popl %ebx
        ret
        /* 128 bytes past the loop's start: the same page, another 64-byte chunk */
        .balign 128
shared: .long 0

        .section .rodata
fmt:    .asciz "codestore: %u iterations, ebx=%08x shared=%08x\n"
label:  .asciz "codestore"
