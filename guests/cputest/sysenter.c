/* sysenter.c - SYSENTER and SYSEXIT (SDM Vol. 2B). IA32_SYSENTER_CS = SEL_CODE0 | 3 (the RPL bits
 * are dropped or replaced): the test GDT's ring-0 code and data, ring-3 code and data follow each
 * other as both instructions assume. From ring 0, SYSEXIT to ring 3 (CS = MSR+16 | 3, SS = MSR+24
 * | 3, EIP = EDX, ESP = ECX, EFLAGS kept), there SYSENTER back (CS = MSR & 0xfffc, SS = CS+8, ESP
 * and EIP from the MSRs), with the selectors, stack and flags each side saw; DS is not touched,
 * so ring 3 still uses the ring-0 data selector it had. Then #GP(0) for both with IA32_SYSENTER_CS
 * 0 (the SDM's condition is bits 15:2 zero, but QEMU tests the whole MSR: a value of 1-3 would
 * enter with a null CS there; the core's unit tests check those). IF stays clear (no interrupt source is set up); the core's
 * unit tests check that SYSENTER clears it. */
#include "cputest.h"

u8 se_kernel_stack[4096] __attribute__((aligned(16)));
u8 se_user_stack[4096] __attribute__((aligned(16)));
u32 se_info[8]; /* ring 3: cs ss esp eflags; ring 0 after SYSENTER: cs ss esp eflags */
u32 se_saved_esp;

/* sysenter_round_trip(): SYSEXIT with CF and DF set, SYSENTER back, return to the caller. */
void sysenter_round_trip(void);
__asm__(".pushsection .text\n"
        "sysenter_round_trip:\n\t"
        "pushl %ebp; pushl %ebx; pushl %esi; pushl %edi\n\t"
        "movl %esp, se_saved_esp\n\t"
        "movl $se_user, %edx; movl $se_user_stack + 4096, %ecx\n\t"
        "pushl $0x403; popfl\n\t"
        "sysexit\n"
        "se_user:\n\t"
        "movw %cs, se_info; movw %ss, se_info + 4; movl %esp, se_info + 8; pushfl; popl se_info + 12\n\t"
        "sysenter\n"
        ".globl se_kernel\n"
        "se_kernel:\n\t"
        "movw %cs, se_info + 16; movw %ss, se_info + 20; movl %esp, se_info + 24; pushfl; popl se_info + 28\n\t"
        "pushl $2; popfl\n\t"
        "movl se_saved_esp, %esp\n\t"
        "popl %edi; popl %esi; popl %ebx; popl %ebp; ret\n"
        ".popsection");
void se_kernel(void);

static void wrmsr32(u32 msr, u32 value) { __asm__ volatile("wrmsr" : : "c"(msr), "a"(value), "d"(0)); }
static void set_sysenter_msrs(u32 cs)
{
    wrmsr32(0x174, cs);
    wrmsr32(0x175, (u32)se_kernel_stack + sizeof se_kernel_stack);
    wrmsr32(0x176, (u32)se_kernel);
}

FSNIP(x_sysenter, "", "sysenter");
FSNIP(x_sysexit, "", "sysexit");

void test_sysenter(void)
{
    set_sysenter_msrs(SEL_CODE0 | 3);
    sysenter_round_trip();
    tcase("sysexit: ring 3 cs=%04x ss=%04x esp=top%+d eflags=%08x", se_info[0] & 0xffff, se_info[1] & 0xffff,
          (int)(se_info[2] - ((u32)se_user_stack + sizeof se_user_stack)), se_info[3]);
    tcase("sysenter: ring 0 cs=%04x ss=%04x esp=top%+d eflags=%08x", se_info[4] & 0xffff, se_info[5] & 0xffff,
          (int)(se_info[6] - ((u32)se_kernel_stack + sizeof se_kernel_stack)), se_info[7]);
    struct regs r = {0};
    set_sysenter_msrs(0);
    fault_case("sysenter, IA32_SYSENTER_CS 0", x_sysenter, &r);
    fault_case("sysexit, IA32_SYSENTER_CS 0", x_sysexit, &r);
}
