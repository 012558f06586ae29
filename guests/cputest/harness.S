/* harness.S - run(): load a struct regs into the general registers and EFLAGS, call a
 * snippet, store everything back. This is how every cputest case touches the CPU: the snippet
 * sees exactly the registers the C code chose and nothing the compiler put there. */

        .text
        .globl run
/* void run(struct regs *r, void (*fn)(void))
 * struct regs: eax 0, ecx 4, edx 8, ebx 12, esp 16, ebp 20, esi 24, edi 28, eflags 32 */
run:
        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi
        movl 20(%esp), %eax
        movl 24(%esp), %ecx
        movl %ecx, run_fn
        movl %eax, run_regs
        movl %esp, run_esp
        movl 32(%eax), %ecx
        andl $0x0cd5, %ecx              /* status flags and DF only: never TF, IF, IOPL, NT */
        orl $2, %ecx
        pushl %ecx
        movl 4(%eax), %ecx
        movl 8(%eax), %edx
        movl 12(%eax), %ebx
        movl 20(%eax), %ebp
        movl 24(%eax), %esi
        movl 28(%eax), %edi
        movl 0(%eax), %eax
        popfl
        call *run_fn
        pushfl
        pushl %eax
        movl run_regs, %eax
        popl 0(%eax)
        popl 32(%eax)
        movl %ecx, 4(%eax)
        movl %edx, 8(%eax)
        movl %ebx, 12(%eax)
        movl %ebp, 20(%eax)
        movl %esi, 24(%eax)
        movl %edi, 28(%eax)
        movl %esp, %ecx
        subl run_esp, %ecx
        movl %ecx, 16(%eax)
        movl run_esp, %esp
        cld
        popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret

        .bss
        .balign 4
run_fn:   .long 0
run_regs: .long 0
run_esp:  .long 0
