/* modules.c - lists the Multiboot modules the boot loader passed (QEMU's -initrd, wasmvisor's
 * --module, GRUB's module): their count, and for each its command line, size, whether it starts
 * on a page boundary, an FNV-1a hash of its bytes and its first line. Addresses are not printed:
 * every boot loader places modules where it likes. */
#include "guest.h"

#define MB_INFO_MODULES (1u << 3)

/* The Multiboot information structure up to the module table, and one module entry. */
struct mb_info_modules {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline;
    u32 mods_count, mods_addr;
};
struct mb_module {
    u32 start, end, string, reserved;
};

static u32 fnv1a(const u8 *bytes, u32 length)
{
    u32 hash = 2166136261u;
    for (u32 i = 0; i < length; i++)
        hash = (hash ^ bytes[i]) * 16777619u;
    return hash;
}

int kmain(u32 magic, const struct mb_info_modules *mb)
{
    if (magic != MB_BOOT_MAGIC)
        return 1;
    if (!(mb->flags & MB_INFO_MODULES)) {
        puts("modules: not reported\n");
        return 0;
    }
    kprintf("modules: %u\n", mb->mods_count);
    const struct mb_module *mods = (const struct mb_module *)mb->mods_addr;
    for (u32 i = 0; i < mb->mods_count; i++) {
        const u8 *bytes = (const u8 *)mods[i].start;
        u32 size = mods[i].end - mods[i].start;
        kprintf("module %u: \"%s\", %u bytes, %s, fnv1a %08x, first line: \"", i,
                (const char *)mods[i].string, size, mods[i].start % 4096 ? "unaligned" : "page-aligned", fnv1a(bytes, size));
        for (u32 j = 0; j < size && bytes[j] != '\n' && j < 60; j++)
            serial_putc(bytes[j] >= 32 && bytes[j] < 127 ? bytes[j] : '.');
        puts("\"\n");
    }
    return 0;
}
