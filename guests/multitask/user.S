/* user.S - the program every multitask process runs, at CPL 3, from pages of its own that the
 * kernel maps user-accessible (the rest of the kernel is supervisor-only). It touches only its
 * private memory, its stack and, in timer mode, the read-only kinfo page.
 *
 * Entry (set up by the kernel): EAX = pid, EBX = rounds, ECX = mode (0 yield, 1 timer),
 * EDX = address of the kernel's switch counter (read-only for us), ESI = stride (64, or 1024 for
 * `light`: a power of two), ESP = top of the private stack. Each round writes a pattern of its
 * own (pid, round) into every stride-th dword of the 16 KiB private area at PRIVATE_VA, starting
 * at dword (round mod stride), so that `stride` rounds cover every dword; gives up the CPU (yield: INT 0x80 with EAX = 0; timer: spins until the switch counter
 * moves, i.e. until the timer has switched at least once); then checks the same dwords. Every
 * process uses the same linear addresses, so a wrong frame or a stale translation shows up as
 * another process's pattern. At the end: INT 0x80 with EAX = 1 (exit), EBX = dwords that were
 * wrong. */

#define PRIVATE_VA 0x40000000
#define PRIVATE_DWORDS 4096 /* 16 KiB */
#define K_PID 0x9e3779b1    /* pattern(pid, round, i) = (pid+1)*K_PID + round*K_ROUND + 4*i */
#define K_ROUND 0x85ebca77

        .text
        .balign 4096
        .globl user_text_start
user_text_start:

        .globl user_main
user_main:
        shll $2, %esi
        pushl %esi              /* 20(%esp) 4 * stride: the pattern's step */
        pushl %edx              /* 16(%esp) &switch counter */
        pushl %ecx              /* 12(%esp) mode */
        pushl %ebx              /*  8(%esp) rounds */
        pushl %eax              /*  4(%esp) pid */
        pushl $0                /*  0(%esp) errors */
        xorl %edi, %edi         /* EDI = round */

round:
        cmpl 8(%esp), %edi
        jae done
        call pattern            /* EAX = pattern of dword 0, EDX = first dword index */

        /* write: dwords first, first+64, ... */
        movl %edx, %ecx
        leal (%eax,%ecx,4), %ebx
1:      movl %ebx, PRIVATE_VA(,%ecx,4)
        addl 20(%esp), %ebx
        movl 20(%esp), %esi
        shrl $2, %esi
        addl %esi, %ecx
        cmpl $PRIVATE_DWORDS, %ecx
        jb 1b

        /* give up the CPU */
        cmpl $0, 12(%esp)
        jne 2f
        xorl %eax, %eax         /* yield */
        int $0x80
        jmp 4f
2:      movl 16(%esp), %edx     /* timer: wait until a switch has happened */
        movl (%edx), %eax
3:      cmpl (%edx), %eax
        je 3b
4:
        /* check the same dwords */
        call pattern
        movl %edx, %ecx
        leal (%eax,%ecx,4), %ebx
5:      cmpl %ebx, PRIVATE_VA(,%ecx,4)
        je 6f
        incl 0(%esp)
6:      addl 20(%esp), %ebx
        movl 20(%esp), %esi
        shrl $2, %esi
        addl %esi, %ecx
        cmpl $PRIVATE_DWORDS, %ecx
        jb 5b

        incl %edi
        jmp round

done:
        movl $1, %eax           /* exit(errors) */
        movl 0(%esp), %ebx
        int $0x80
        ud2                     /* exit does not return */

/* EAX = (pid+1)*K_PID + round*K_ROUND, EDX = round mod stride; the caller's frame is 4 bytes up */
pattern:
        movl 8(%esp), %eax      /* pid */
        incl %eax
        imull $K_PID, %eax, %eax
        imull $K_ROUND, %edi, %edx
        addl %edx, %eax
        movl 24(%esp), %edx     /* 4 * stride */
        shrl $2, %edx
        decl %edx
        andl %edi, %edx
        ret

        .balign 4096
        .globl user_text_end
user_text_end:
