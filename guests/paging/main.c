/* main.c - paging: x86 32-bit paging as the guest sees it, one line per case, printed only
 * where the Intel SDM defines the outcome, so that any correct IA-32 CPU with PSE and PGE
 * prints the same lines (guests/paging.expected is QEMU's output).
 *
 * Never printed: anything a stale TLB entry could show. Between changing an entry and the
 * INVLPG or CR3 load that makes the change architecturally visible, a CPU may use the old or
 * the new entry (QEMU and wasmvisor differ there, and both are right), so no case reads in
 * that window. Also not printed: A bits after a faulting access (a CPU may set them while
 * walking), and frame addresses (the pool's order is ours, not the CPU's).
 *
 * Families: basic translation, demand paging, copy-on-write, INVLPG / CR3 loads / the
 * self-map, global pages, CR0.WP at CPL 0, user vs supervisor at CPL 3, 4 MiB pages (CR4.PSE),
 * accessed and dirty bits, and the #PF error codes seen over the whole run. */
#include "paging.h"

static u32 ncases;

void tcase(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    kvprintf(fmt, ap);
    __builtin_va_end(ap);
    serial_putc('\n');
    ncases++;
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)mb;
    puts("paging: x86 32-bit paging conformance\n");
    if (magic != MB_BOOT_MAGIC) {
        kprintf("bad multiboot magic %08x\n", magic);
        return 1;
    }
    pm_init();
    mm_init();
    test_basic();
    test_demand();
    test_cow();
    test_tlb();
    test_global();
    test_wp();
    test_user();
    test_big_pages();
    test_accessed_dirty();
    test_error_codes();
    kprintf("paging: %u cases done\n", ncases);
    return 0;
}
