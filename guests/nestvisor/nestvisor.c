/* nestvisor.c - a small guest hypervisor in the spirit of SimpleVisor, for 32-bit VMX without EPT
 * or unrestricted guest, and for AMD's SVM without nested paging: it turns the CPU's virtualization
 * on, builds one VMCS or VMCB and runs the kernel it was given as its first Multiboot module (L2)
 * until L2 ends, handling L2's exits, and prints how many exits of each reason L2 took. It picks
 * the backend by what CPUID offers: VMX (vmx.c) on Intel, SVM (svm.c) on AMD. Under wasmvisor it is
 * L1 of a nested setup:
 *
 *     wasmvisor run guests/nestvisor.elf --nested vmx --module guests/hello.elf
 *     wasmvisor run guests/nestvisor.elf --cpu amd --nested svm --module guests/hello.elf
 *
 * and under Bochs (a CPU model with VMX, or an AMD one with SVM) it runs on the emulated hardware
 * directly (guests/bochs-run.sh guests/nestvisor.elf guests/hello.elf). Everything it prints is the
 * same on any CPU that follows the manuals: no revision ID, no addresses the boot loader chose. */
#include "nestvisor.h"

#define PDE_4MIB 0x83 /* present, writable, 4 MiB page */

unsigned long long l1_gdt[4];
u8 l1_tss[0x68] __attribute__((aligned(16)));
static u32 page_directory[1024] __attribute__((aligned(PAGE)));

void stop_l1(u32 status)
{
    bochs_shutdown();
    guest_exit(status);
}

void fail(const char *what)
{
    print_line_break();
    kprintf("nestvisor: %s\n", what);
    stop_l1(1);
}

/* A GDT with flat code and data and a TSS: VM exits load the host's selectors, and TR's may not be 0. */
static void load_segments(void)
{
    u32 t = (u32)l1_tss;
    l1_gdt[1] = 0x00cf9b000000ffffull; /* code: base 0, limit 4 GiB, execute/read */
    l1_gdt[2] = 0x00cf93000000ffffull; /* data: read/write */
    l1_gdt[3] = 0x0000890000000067ull | ((unsigned long long)(t & 0xffffff) << 16) | ((unsigned long long)(t >> 24) << 56);
    struct __attribute__((packed)) { u16 limit; u32 base; } gdtr = {sizeof l1_gdt - 1, (u32)l1_gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n"
                     "1:\tmov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%fs\n\tmov %2, %%gs\n\tmov %2, %%ss\n\t"
                     "ltr %w3"
                     : : "m"(gdtr), "i"(SEL_CODE), "r"(SEL_DATA), "r"(SEL_TSS) : "memory");
}

/* All 4 GiB mapped one to one with 4 MiB pages, paging on: VMXON needs CR0.PG, and under either
 * backend L1's memory then looks the same. */
static void enable_paging(void)
{
    u32 cr0, cr4;
    for (u32 i = 0; i < 1024; i++)
        page_directory[i] = (i << 22) | PDE_4MIB;
    __asm__ volatile("mov %0, %%cr3" : : "r"(page_directory) : "memory");
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_PSE) : "memory");
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_PG) : "memory");
}

static const struct backend *choose_backend(void)
{
    if (vmx_backend.offered())
        return &vmx_backend;
    if (svm_backend.offered())
        return &svm_backend;
    fail("this CPU offers neither VMX (CPUID.1:ECX.VMX) nor SVM (CPUID.80000001h:ECX.SVM)");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    if (magic != MB_BOOT_MAGIC)
        return 1;
    puts("nestvisor: a guest hypervisor, running the kernel in its first Multiboot module as L2\n");
    const char *args;
    const char *wrong = l2_load(mb, &args);
    if (wrong) {
        kprintf("nestvisor: cannot load L2: %s\n", wrong);
        stop_l1(1);
    }
    kprintf("nestvisor: L2 kernel loaded, arguments \"%s\"\n", args);

    const struct backend *cpu = choose_backend();
    /* L2 gets no device interrupts: mask both PICs (the BIOS leaves the timer running). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    load_segments();
    enable_paging();
    cpu->enable();
    kprintf("nestvisor: %s on, %s\n", cpu->name, cpu->ready);

    struct guest_regs regs;
    struct l2_start start;
    l2_boot(&start);
    cpu->boot_l2(&regs, &start);
    while (cpu->run(&regs) == RESUME)
        ;

    cpu->print_exit_counts();
    cpu->disable();
    kprintf("nestvisor: %s off, L2's status %u\n", cpu->name, l2_status());
    stop_l1(l2_status());
}
