/* l2.c - the L2 kernel: taken from the first Multiboot module, loaded into L2's memory as a boot
 * loader would load it (an ELF Multiboot kernel, its segments at their physical addresses), and
 * started in the state the Multiboot specification promises: 32-bit protected mode with flat
 * segments, paging off, interrupts off, EAX = 0x2BADB002, EBX = its information structure.
 * A module of 512 bytes that ends with the boot signature 55 AA is a boot sector instead: it goes
 * to 0x7C00 and starts there in real mode, as a BIOS starts one (without the BIOS's services).
 *
 * L2 runs at the physical addresses it was linked for: without EPT or nested paging, L2's page
 * tables hold real physical addresses, so an L2 that turns paging on (paging, multitask) uses its
 * own tables as they are. Once it has its own tables (or, under SVM, while its paging is off) it
 * could reach any memory; keeping it out of L1 would take shadow page tables. */
#include "nestvisor.h"

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_HEADER_AOUT_KLUDGE (1u << 16)
#define MB_HEADER_SEARCH 8192
#define MB_INFO_MODULES (1u << 3)

#define L2_INFO (L2_BOOT_PAGE + 0x200)
#define L2_CMDLINE (L2_BOOT_PAGE + 0x300)
#define L2_CMDLINE_MAX (PAGE - 0x300)
#define BOOT_SECTOR_SIZE 512

struct mb_info_modules {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct mb_module {
    u32 start, end, string, reserved;
};
struct elf_header {
    u8 ident[16];
    u16 type, machine;
    u32 version, entry, phoff, shoff, flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_segment {
    u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define ELF_EXECUTABLE 2
#define ELF_386 3
#define PT_LOAD 1

/* The module is copied here first: the boot loader may have put it where L2's segments go. */
static u8 image[1u << 20] __attribute__((aligned(16)));
static char cmdline[L2_CMDLINE_MAX];
static u32 l2_entry;
static int l2_boot_sector;

static int multiboot_header_ok(u32 size)
{
    for (u32 at = 0; at + 12 <= size && at < MB_HEADER_SEARCH; at += 4) {
        const u32 *h = (const u32 *)(image + at);
        if (h[0] == MB_HEADER_MAGIC && h[0] + h[1] + h[2] == 0)
            return !(h[1] & MB_HEADER_AOUT_KLUDGE);
    }
    return 0;
}

static int inside(u32 start, u32 bytes, u32 low, u32 high)
{
    return start >= low && start <= high && bytes <= high - start;
}

/* What is wrong with the ELF image's loadable segments, or NULL. */
static const char *check_segments(const struct elf_header *elf, u32 size)
{
    if (elf->phentsize != sizeof(struct elf_segment) || !inside(elf->phoff, elf->phnum * sizeof(struct elf_segment), 0, size))
        return "its program headers are not inside the module";
    const struct elf_segment *seg = (const struct elf_segment *)(image + elf->phoff);
    for (u32 i = 0; i < elf->phnum; i++) {
        if (seg[i].type != PT_LOAD)
            continue;
        if (seg[i].filesz > seg[i].memsz || !inside(seg[i].offset, seg[i].filesz, 0, size))
            return "a segment's bytes are not inside the module";
        if (!inside(seg[i].paddr, seg[i].memsz, L2_LOWEST_LOAD, L2_MEMORY))
            return "a segment lies outside L2's memory (1-16 MiB)";
    }
    if (!inside(elf->entry, 1, L2_LOWEST_LOAD, L2_MEMORY))
        return "its entry point lies outside L2's memory";
    return 0;
}

const char *l2_load(const struct mb_info *info, const char **args)
{
    const struct mb_info_modules *mb = (const struct mb_info_modules *)info;
    if (!(mb->flags & MB_INFO_MODULES) || mb->mods_count == 0)
        return "no Multiboot module: give the L2 kernel as a module (--module, -initrd, GRUB's module)";
    const struct mb_module *module = (const struct mb_module *)mb->mods_addr;
    u32 size = module->end - module->start;
    if (module->end < module->start || size > sizeof image)
        return "the module is larger than 1 MiB";
    memcpy(image, (const void *)module->start, size);
    const char *string = module->string ? (const char *)module->string : "";
    if (strlen(string) >= sizeof cmdline)
        return "the module's command line is too long";
    memcpy(cmdline, string, strlen(string) + 1);

    struct mb_info args_of = {.flags = MB_INFO_CMDLINE, .cmdline = (u32)cmdline};
    *args = mb_cmdline_args(&args_of);
    if (size == BOOT_SECTOR_SIZE && image[510] == 0x55 && image[511] == 0xaa) {
        memcpy((void *)L2_BOOT_SECTOR, image, size);
        l2_boot_sector = 1;
        return 0;
    }

    const struct elf_header *elf = (const struct elf_header *)image;
    if (size < sizeof *elf || memcmp(elf->ident, "\177ELF\1\1", 6) || elf->type != ELF_EXECUTABLE || elf->machine != ELF_386)
        return "the module is not a 32-bit x86 ELF executable";
    if (!multiboot_header_ok(size))
        return "the module has no Multiboot header for an ELF kernel";
    const char *wrong = check_segments(elf, size);
    if (wrong)
        return wrong;

    const struct elf_segment *seg = (const struct elf_segment *)(image + elf->phoff);
    for (u32 i = 0; i < elf->phnum; i++) {
        if (seg[i].type != PT_LOAD)
            continue;
        memcpy((void *)seg[i].paddr, image + seg[i].offset, seg[i].filesz);
        memset((void *)(seg[i].paddr + seg[i].filesz), 0, seg[i].memsz - seg[i].filesz);
    }
    l2_entry = elf->entry;
    return 0;
}

/* A segment descriptor for the GDT (base, limit in its units, access byte, flags nibble). */
static unsigned long long descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
    u32 low = (limit & 0xffff) | (base << 16);
    u32 high = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000);
    return ((unsigned long long)high << 32) | low;
}

void l2_boot(struct l2_start *start)
{
    memset(start, 0, sizeof *start);
    if (l2_boot_sector) {
        start->real_mode = 1;
        start->eip = L2_BOOT_SECTOR;
        return;
    }
    unsigned long long *gdt = (unsigned long long *)L2_GDT;
    gdt[0] = 0;
    gdt[1] = descriptor(0, 0xfffff, 0x9b, 0xc); /* code, execute/read, accessed, 32-bit, 4 KiB units */
    gdt[2] = descriptor(0, 0xfffff, 0x93, 0xc); /* data, read/write, accessed */
    gdt[3] = descriptor(L2_TSS, L2_TSS_LIMIT, 0x8b, 0); /* 32-bit TSS, busy */
    memset((void *)L2_TSS, 0, L2_TSS_LIMIT + 1);

    struct mb_info *info = (struct mb_info *)L2_INFO;
    memset(info, 0, sizeof *info);
    info->flags = MB_INFO_MEMORY | MB_INFO_CMDLINE;
    info->mem_lower = 640;
    info->mem_upper = (L2_MEMORY - 0x100000) / 1024;
    memcpy((void *)L2_CMDLINE, cmdline, strlen(cmdline) + 1);
    info->cmdline = L2_CMDLINE;

    start->eip = l2_entry;
    start->eax = MB_BOOT_MAGIC;
    start->ebx = L2_INFO;
}
