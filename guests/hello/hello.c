/* hello.c - the smallest useful guest: greets over COM1 and reports what the boot loader
 * handed over (Multiboot magic, memory sizes, command-line arguments), then exits with 0.
 * It prints nothing that differs between QEMU and wasmvisor given the same -m and arguments:
 * no memory map, no boot-loader name, no kernel file name. */
#include "guest.h"

int kmain(u32 magic, const struct mb_info *mb)
{
    puts("Hello from a wasmvisor guest!\n");
    kprintf("multiboot magic: %08x (%s)\n", magic, magic == MB_BOOT_MAGIC ? "ok" : "BAD");
    if (magic != MB_BOOT_MAGIC)
        return 1;
    if (mb->flags & MB_INFO_MEMORY)
        kprintf("memory: lower %u KiB, upper %u KiB\n", mb->mem_lower, mb->mem_upper);
    else
        puts("memory: not reported\n");
    const char *args = mb_cmdline_args(mb);
    kprintf("command line arguments: %s\n", *args ? args : "(none)");
    puts("goodbye\n");
    return 0;
}
