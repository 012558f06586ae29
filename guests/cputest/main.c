/* main.c - cputest: several hundred IA-32 instruction test cases, one output line each, with
 * every result masked to what the Intel SDM defines, so the output is the same on any correct
 * CPU (checked against QEMU in guests/cputest.expected). Each family lives in its own file. */
#include "cputest.h"

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)mb;
    puts("cputest: IA-32 instruction conformance\n");
    if (magic != MB_BOOT_MAGIC) {
        kprintf("bad multiboot magic %08x\n", magic);
        return 1;
    }
    desc_init();
    /* instructions a user process could run too (host-oracle/ runs these on the host CPU) */
    test_alu();
    test_alu_forms();
    test_shift();
    test_muldiv();
    test_bits();
    test_misc();
    test_addr();
    test_string();
    test_control();
    /* protected-mode machinery: ring 0, the test's own GDT, LDT, TSS and IDT */
    test_control_system();
    test_string_segs();
    test_exceptions();
    test_segments();
    test_privilege();
    test_sysenter();
    kprintf("cputest: %u cases done\n", ncases);
    return 0;
}
