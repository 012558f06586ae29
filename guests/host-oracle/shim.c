/* shim.c - runs cputest's user-level families (everything main.c runs before the protected-
 * mode machinery: ALU, shifts, mul/div, bits, flag consumers, addressing, strings, stack) as a
 * 32-bit Linux process, so their output can be compared with the golden copy QEMU produced:
 * a check of the reference itself against the real CPU this runs on. COM1 output becomes
 * write(1), exit becomes exit(2), and #DE (SIGFPE) is turned into the cputest fault protocol. */
#include "../cputest/cputest.h"

static char outbuf[4096];
static unsigned outlen;

static long sys(long nr, long a, long b, long c, long d)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
    return r;
}

static void flush(void)
{
    sys(4, 1, (long)outbuf, outlen, 0); /* write */
    outlen = 0;
}

void serial_putc(char c)
{
    outbuf[outlen++] = c;
    if (outlen == sizeof outbuf)
        flush();
}

void guest_exit(u32 code)
{
    flush();
    for (;;)
        sys(1, (long)code, 0, 0, 0); /* exit */
}

/* SIGFPE: record a #DE as the guest's handler would (CS reported as the guest's ring-0 CS)
 * and resume at the recovery label. ucontext: 20 bytes, then gregs[], EIP is gregs[14]. */
static void on_sigfpe(int sig, void *info, u32 *uc)
{
    (void)sig, (void)info;
    u32 *eip = &uc[5 + 14];
    last_fault.vec = 0, last_fault.err = 0, last_fault.eip = *eip, last_fault.cs = SEL_CODE0;
    last_fault.count++;
    if (!fault_recover)
        guest_exit(3);
    *eip = fault_recover;
    fault_recover = 0;
}
void sig_restorer(void);
__asm__(".text\nsig_restorer: movl $173, %eax; int $0x80\n"); /* rt_sigreturn */

void host_main(void)
{
    struct {
        void *handler;
        u32 flags;
        void *restorer;
        u32 mask[2];
    } act = {(void *)on_sigfpe, 0x04000004 /* SA_RESTORER | SA_SIGINFO */, sig_restorer, {0, 0}};
    sys(174, 8 /* SIGFPE */, (long)&act, 0, 8); /* rt_sigaction */
    test_alu();
    test_alu_forms();
    test_shift();
    test_muldiv();
    test_bits();
    test_misc();
    test_addr();
    test_string();
    test_control();
    guest_exit(0);
}
__asm__(".text\n.globl _start\n_start: andl $-16, %esp; call host_main\n");
