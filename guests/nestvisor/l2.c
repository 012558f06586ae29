/* l2.c - the L2 kernel: taken from the first Multiboot module, loaded into L2's memory as a boot
 * loader would load it (an ELF Multiboot kernel, its segments at their physical addresses), and
 * started in the state the Multiboot specification promises: 32-bit protected mode with flat
 * segments, paging off, interrupts off, EAX = 0x2BADB002, EBX = its information structure.
 *
 * L2 runs at the physical addresses it was linked for: without EPT, a VMX guest's page tables
 * hold real physical addresses, so an L2 that turns paging on (paging, multitask) uses its own
 * tables as they are (exits.c). While its paging is off it runs on nestvisor's page tables, which
 * map the first 16 MiB one to one and nothing else: then L2 cannot touch nestvisor. Once it has
 * its own tables it could map any memory; keeping it out of L1 would take shadow page tables. */
#include "nestvisor.h"

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_HEADER_AOUT_KLUDGE (1u << 16)
#define MB_HEADER_SEARCH 8192
#define MB_INFO_MODULES (1u << 3)

/* L2's boot page, below 640 KiB where a boot loader puts such things: a GDT with flat code and
 * data segments and a TSS (VM entry needs a usable TR), the Multiboot information, the command line. */
#define L2_BOOT_PAGE 0x7000u
#define L2_GDT (L2_BOOT_PAGE + 0x000)
#define L2_TSS (L2_BOOT_PAGE + 0x100)
#define L2_INFO (L2_BOOT_PAGE + 0x200)
#define L2_CMDLINE (L2_BOOT_PAGE + 0x300)
#define L2_CMDLINE_MAX (PAGE - 0x300)
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

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

static u32 flat_directory[1024] __attribute__((aligned(PAGE)));
static u32 flat_tables[L2_MEMORY / (PAGE * 1024)][1024] __attribute__((aligned(PAGE)));

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
    struct mb_info args_of = {.flags = MB_INFO_CMDLINE, .cmdline = (u32)cmdline};
    *args = mb_cmdline_args(&args_of);
    return 0;
}

/* A segment descriptor for the GDT (base, limit in its units, access byte, flags nibble). */
static unsigned long long descriptor(u32 base, u32 limit, u32 access, u32 flags)
{
    u32 low = (limit & 0xffff) | (base << 16);
    u32 high = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000);
    return ((unsigned long long)high << 32) | low;
}

static void segment_state(enum segment seg, u32 selector, u32 base, u32 limit, u32 access_rights)
{
    vmcs_write(GUEST_ES_SELECTOR + 2 * seg, selector);
    vmcs_write(GUEST_ES_BASE + 2 * seg, base);
    vmcs_write(GUEST_ES_LIMIT + 2 * seg, limit);
    vmcs_write(GUEST_ES_ACCESS_RIGHTS + 2 * seg, access_rights);
}

void l2_boot_state(struct guest_regs *regs)
{
    unsigned long long *gdt = (unsigned long long *)L2_GDT;
    gdt[0] = 0;
    gdt[1] = descriptor(0, 0xfffff, 0x9b, 0xc); /* code, execute/read, accessed, 32-bit, 4 KiB units */
    gdt[2] = descriptor(0, 0xfffff, 0x93, 0xc); /* data, read/write, accessed */
    gdt[3] = descriptor(L2_TSS, 0x67, 0x8b, 0); /* 32-bit TSS, busy */
    memset((void *)L2_TSS, 0, 0x68);

    struct mb_info *info = (struct mb_info *)L2_INFO;
    memset(info, 0, sizeof *info);
    info->flags = MB_INFO_MEMORY | MB_INFO_CMDLINE;
    info->mem_lower = 640;
    info->mem_upper = (L2_MEMORY - 0x100000) / 1024;
    memcpy((void *)L2_CMDLINE, cmdline, strlen(cmdline) + 1);
    info->cmdline = L2_CMDLINE;

    for (enum segment seg = SEG_ES; seg <= SEG_GS; seg++) {
        if (seg == SEG_CS)
            segment_state(seg, SEL_CODE, 0, 0xffffffff, 0xc09b);
        else
            segment_state(seg, SEL_DATA, 0, 0xffffffff, 0xc093);
    }
    segment_state(SEG_LDTR, 0, 0, 0, 1u << 16); /* unusable */
    segment_state(SEG_TR, SEL_TSS, L2_TSS, 0x67, 0x8b);
    vmcs_write(GUEST_GDTR_BASE, L2_GDT);
    vmcs_write(GUEST_GDTR_LIMIT, 4 * 8 - 1);
    vmcs_write(GUEST_IDTR_BASE, 0);
    vmcs_write(GUEST_IDTR_LIMIT, 0);

    vmcs_write(GUEST_RIP, l2_entry);
    vmcs_write(GUEST_RSP, 0);
    vmcs_write(GUEST_RFLAGS, 2); /* IF = 0 */
    memset(regs, 0, sizeof *regs);
    regs->eax = MB_BOOT_MAGIC;
    regs->ebx = L2_INFO;

    vmcs_write(GUEST_DR7, 0x400);
    vmcs_write(GUEST_DEBUGCTL, 0);
    vmcs_write(GUEST_DEBUGCTL_HIGH, 0);
    vmcs_write(GUEST_SYSENTER_CS, 0);
    vmcs_write(GUEST_SYSENTER_ESP, 0);
    vmcs_write(GUEST_SYSENTER_EIP, 0);
    vmcs_write(GUEST_INTERRUPTIBILITY, 0);
    vmcs_write(GUEST_ACTIVITY_STATE, 0);
    vmcs_write(GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    vmcs_write(VMCS_LINK_POINTER, 0xffffffff); /* no shadow VMCS */
    vmcs_write(VMCS_LINK_POINTER_HIGH, 0xffffffff);
}

u32 l2_flat_page_directory(void)
{
    for (u32 t = 0; t < sizeof flat_tables / sizeof flat_tables[0]; t++) {
        for (u32 i = 0; i < 1024; i++)
            flat_tables[t][i] = (t * 1024 + i) * PAGE | 7; /* present, writable, user */
        flat_directory[t] = (u32)flat_tables[t] | 7;
    }
    return (u32)flat_directory;
}
