/* vmxprobe.c - a guest hypervisor's first steps, with the outcome of each VMX instruction printed:
 * the flags (VMsucceed, VMfailInvalid = CF, VMfailValid = ZF) and, after a VMfailValid, the
 * VM-instruction error number. It runs under wasmvisor --nested vmx and under Bochs (a CPU model
 * with VMX, booted by GRUB), and both must print vmxprobe.expected, which Bochs printed
 * (test/guests/bochs-vmx.test.ts). Nothing printed
 * depends on the implementation: not the revision ID, not field values L1 did not write. */
#include "guest.h"


#define PAGE 4096
static u8 vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static u8 vmcs_a[PAGE] __attribute__((aligned(PAGE)));
static u8 vmcs_b[PAGE] __attribute__((aligned(PAGE)));
static u32 page_directory[1024] __attribute__((aligned(PAGE)));

static u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

/* The arithmetic flags after a VMX instruction: its outcome. */
static const char *outcome(u32 flags)
{
    if (flags & 1) return "VMfailInvalid";
    if (flags & 0x40) return "VMfailValid";
    return "VMsucceed";
}

#define VMX_POINTER_OP(name, insn)                                                           \
    static u32 name(u64 *pointer)                                                            \
    {                                                                                        \
        u32 flags;                                                                           \
        __asm__ volatile(insn " %1\n pushf\n pop %0" : "=r"(flags) : "m"(*pointer) : "cc", "memory"); \
        return flags;                                                                        \
    }
VMX_POINTER_OP(vmxon, "vmxon")
VMX_POINTER_OP(vmptrld, "vmptrld")
VMX_POINTER_OP(vmclear, "vmclear")
VMX_POINTER_OP(vmptrst, "vmptrst")

static u32 vmwrite(u32 field, u32 value)
{
    u32 flags;
    __asm__ volatile("vmwrite %1, %2\n pushf\n pop %0" : "=r"(flags) : "r"(value), "r"(field) : "cc");
    return flags;
}

static u32 vmread(u32 field, u32 *value)
{
    u32 flags;
    __asm__ volatile("vmread %2, %1\n pushf\n pop %0" : "=r"(flags), "=r"(*value) : "r"(field) : "cc");
    return flags;
}

static u32 simple(int which)
{
    u32 flags;
    if (which == 0) __asm__ volatile("vmresume\n pushf\n pop %0" : "=r"(flags) : : "cc");
    else __asm__ volatile("vmxoff\n pushf\n pop %0" : "=r"(flags) : : "cc");
    return flags;
}

static void report(const char *what, u32 flags)
{
    kprintf("%s: %s", what, outcome(flags));
    if (flags & 0x40) {
        u32 error = 0;
        vmread(0x4400, &error);
        kprintf(" (error %u)", error);
    }
    puts("\n");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)mb;
    if (magic != MB_BOOT_MAGIC)
        return 1;
    u32 eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    kprintf("CPUID.1:ECX.VMX: %u\n", (ecx >> 5) & 1);
    if (!(ecx & (1 << 5)))
        return 1;
    kprintf("IA32_FEATURE_CONTROL: %x\n", (u32)rdmsr(0x3a));
    u32 revision = (u32)rdmsr(0x480);

    /* Paging on (one 4 MiB identity page), then CR0.NE and CR4.VMXE: what VMXON requires. */
    page_directory[0] = 0x83;
    __asm__ volatile("mov %0, %%cr3" : : "r"(page_directory));
    u32 cr;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr | 0x2010));
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr));
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr | 0x80000020));

    u64 pointer;
    *(u32 *)vmxon_region = revision ^ 1;
    pointer = (u32)vmxon_region;
    report("VMXON, region with a wrong revision ID", vmxon(&pointer));
    *(u32 *)vmxon_region = revision;
    pointer = (u32)vmxon_region + 8;
    report("VMXON, unaligned pointer", vmxon(&pointer));
    pointer = (u32)vmxon_region;
    report("VMXON", vmxon(&pointer));
    report("VMXON again (no current VMCS)", vmxon(&pointer));

    *(u32 *)vmcs_a = revision;
    *(u32 *)vmcs_b = revision ^ 1;
    pointer = (u32)vmcs_a + 16;
    report("VMPTRLD, unaligned (no current VMCS)", vmptrld(&pointer));
    pointer = (u32)vmcs_a;
    report("VMCLEAR", vmclear(&pointer));
    report("VMPTRLD", vmptrld(&pointer));
    u64 stored = 0;
    report("VMPTRST", vmptrst(&stored));
    kprintf("VMPTRST stored the current VMCS: %s\n", stored == (u32)vmcs_a ? "yes" : "no");
    pointer = (u32)vmcs_a + 16;
    report("VMPTRLD, unaligned", vmptrld(&pointer));
    pointer = (u32)vmxon_region;
    report("VMPTRLD of the VMXON region", vmptrld(&pointer));
    report("VMCLEAR of the VMXON region", vmclear(&pointer));
    pointer = (u32)vmcs_b;
    report("VMPTRLD, region with a wrong revision ID", vmptrld(&pointer));
    report("VMXON in VMX operation", vmxon(&pointer));

    u32 value = 0;
    report("VMWRITE guest RIP", vmwrite(0x681e, 0x12345678));
    report("VMREAD guest RIP", vmread(0x681e, &value));
    kprintf("guest RIP read back: %x\n", value);
    report("VMWRITE guest CS selector", vmwrite(0x0802, 0xabcd1234));
    report("VMREAD guest CS selector", vmread(0x0802, &value));
    kprintf("guest CS selector read back: %x\n", value);
    report("VMWRITE VM-instruction error (read-only)", vmwrite(0x4400, 1));
    report("VMWRITE exit qualification (read-only)", vmwrite(0x6400, 1));
    report("VMWRITE encoding with bits 31:15 set", vmwrite(0x80004002, 1));
    report("VMREAD high half of a 32-bit field", vmread(0x4003, &value));
    report("VMRESUME of a clear VMCS", simple(0));

    pointer = (u32)vmcs_a;
    report("VMCLEAR of the current VMCS", vmclear(&pointer));
    stored = 0;
    report("VMPTRST", vmptrst(&stored));
    kprintf("VMPTRST stored no VMCS: %s\n", stored == ~0ull ? "yes" : "no");
    report("VMREAD without a current VMCS", vmread(0x681e, &value));
    report("VMXOFF", simple(1));
    puts("done\n");
    bochs_shutdown();
    return 0;
}
