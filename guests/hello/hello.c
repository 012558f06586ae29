/* hello.c - the smallest useful guest: greets over COM1 and reports what the boot loader
 * handed over (Multiboot magic, memory sizes, command-line arguments), then exits with 0.
 * It prints nothing that differs between QEMU and wasmvisor given the same -m and arguments:
 * no memory map, no boot-loader name, no kernel file name, no exact memory sizes. */
#include "guest.h"

int kmain(u32 magic, const struct mb_info *mb)
{
    puts("Hello from a wasmvisor guest!\n");
    kprintf("multiboot magic: %08x (%s)\n", magic, magic == MB_BOOT_MAGIC ? "ok" : "BAD");
    if (magic != MB_BOOT_MAGIC)
        return 1;
    /* Firmware may keep a little of each region for itself (under QEMU, SeaBIOS reports 639
     * KiB below 1 MiB and hides the top 128 KiB of RAM; wasmvisor has no firmware and reports
     * 640 and RAM - 1 MiB), so the sizes are printed rounded up: lower memory to 64 KiB, all
     * memory (upper + the first MiB) to 1 MiB. Wrong units or a forgotten MiB still show. */
    if (mb->flags & MB_INFO_MEMORY)
        kprintf("memory: lower %u KiB, total %u MiB (rounded up)\n", (mb->mem_lower + 63) / 64 * 64,
                (mb->mem_upper + 1024 + 1023) / 1024);
    else
        puts("memory: not reported\n");
    const char *args = mb_cmdline_args(mb);
    kprintf("command line arguments: %s\n", *args ? args : "(none)");
    puts("goodbye\n");
    return 0;
}
