/* nestvisor.c - a small guest hypervisor in the spirit of SimpleVisor, for 32-bit VMX without EPT
 * or unrestricted guest: it turns VMX on, builds one VMCS and runs the kernel it was given as its
 * first Multiboot module (L2) until L2 ends, handling L2's exits (exits.c), and prints how many
 * exits of each reason L2 took. Under wasmvisor it is L1 of a nested setup:
 *
 *     wasmvisor run guests/nestvisor.elf --nested vmx --module guests/hello.elf
 *
 * and under Bochs (a CPU model with VMX) it runs on the emulated hardware directly
 * (guests/bochs-run.sh guests/nestvisor.elf guests/hello.elf). Everything it prints is the same on
 * any CPU that follows the SDM: no revision ID, no addresses the boot loader chose. */
#include "nestvisor.h"

u32 vm_enter(struct guest_regs *regs, u32 launched); /* enter.S */
void vm_exit(void);

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define PDE_4MIB 0x83 /* present, writable, 4 MiB page */

static u8 vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static u8 vmcs_region[PAGE] __attribute__((aligned(PAGE)));
static u8 msr_bitmap[PAGE] __attribute__((aligned(PAGE)));
static u32 page_directory[1024] __attribute__((aligned(PAGE)));
static unsigned long long gdt[4];
static u8 tss[0x68] __attribute__((aligned(16)));

static u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static u32 read_cr3(void) { u32 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static u32 read_cr4(void) { u32 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static void write_cr3(u32 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

void stop_l1(u32 status)
{
    bochs_shutdown();
    guest_exit(status);
}

static void fail(const char *what)
{
    print_line_break();
    kprintf("nestvisor: %s\n", what);
    stop_l1(1);
}

void vmcs_write(u32 field, u32 value)
{
    if (VMX_FAILED(vmwrite(field, value))) {
        print_line_break();
        kprintf("nestvisor: VMWRITE of field %x failed (VM-instruction error %u)\n", field, vmread(VM_INSTRUCTION_ERROR));
        stop_l1(1);
    }
}

/* A GDT with flat code and data and a TSS: VM exits load the host's selectors, and TR's may not be 0. */
static void load_segments(void)
{
    u32 t = (u32)tss;
    gdt[1] = 0x00cf9b000000ffffull; /* code: base 0, limit 4 GiB, execute/read */
    gdt[2] = 0x00cf93000000ffffull; /* data: read/write */
    gdt[3] = 0x0000890000000067ull | ((unsigned long long)(t & 0xffffff) << 16) | ((unsigned long long)(t >> 24) << 56);
    struct __attribute__((packed)) { u16 limit; u32 base; } gdtr = {sizeof gdt - 1, (u32)gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n"
                     "1:\tmov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%fs\n\tmov %2, %%gs\n\tmov %2, %%ss\n\t"
                     "ltr %w3"
                     : : "m"(gdtr), "i"(SEL_CODE), "r"(SEL_DATA), "r"(SEL_TSS) : "memory");
}

/* VMXON needs VMX enabled in IA32_FEATURE_CONTROL and CR0 and CR4 as their FIXED MSRs say, which
 * includes CR0.PG: nestvisor maps all 4 GiB one to one with 4 MiB pages first. */
static void enable_vmx(void)
{
    u32 eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    if (!(ecx & (1u << 5)))
        fail("this CPU has no VMX (CPUID.1:ECX.VMX is 0)");
    u32 control = (u32)rdmsr(MSR_FEATURE_CONTROL);
    if (!(control & FEATURE_CONTROL_LOCKED))
        wrmsr(MSR_FEATURE_CONTROL, control | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX);
    else if (!(control & FEATURE_CONTROL_VMX))
        fail("the firmware locked VMX off (IA32_FEATURE_CONTROL)");

    for (u32 i = 0; i < 1024; i++)
        page_directory[i] = (i << 22) | PDE_4MIB;
    write_cr3((u32)page_directory);
    write_cr4(((read_cr4() | CR4_PSE) | (u32)rdmsr(MSR_VMX_CR4_FIXED0)) & (u32)rdmsr(MSR_VMX_CR4_FIXED1));
    write_cr0((read_cr0() | (u32)rdmsr(MSR_VMX_CR0_FIXED0)) & (u32)rdmsr(MSR_VMX_CR0_FIXED1));

    *(u32 *)vmxon_region = (u32)rdmsr(MSR_VMX_BASIC) & 0x7fffffff; /* the VMCS revision ID */
    if (VMX_FAILED(vmxon((u32)vmxon_region)))
        fail("VMXON failed");
}

/* A control field's value: what nestvisor wants plus what the CPU requires (the capability MSR's
 * allowed-0 settings in its low half); stops if the CPU cannot do what it wants (allowed-1). */
static u32 controls(u32 msr, u32 wanted, const char *name)
{
    u64 capability = rdmsr(msr);
    if (wanted & ~(u32)(capability >> 32)) {
        kprintf("nestvisor: the CPU cannot set %s controls %x\n", name, wanted & ~(u32)(capability >> 32));
        stop_l1(1);
    }
    return wanted | (u32)capability;
}

/* RDMSR and WRMSR exit for every MSR but IA32_SYSENTER_CS, _ESP and _EIP (0x174-0x176): the
 * bitmap's four 1 KiB parts (read low, read high, write low, write high) are all ones but for
 * their bits. */
static void build_msr_bitmap(void)
{
    memset(msr_bitmap, 0xff, PAGE);
    for (u32 msr = MSR_SYSENTER_CS; msr <= MSR_SYSENTER_EIP; msr++) {
        msr_bitmap[msr / 8] &= ~(1u << (msr % 8));
        msr_bitmap[2048 + msr / 8] &= ~(1u << (msr % 8));
    }
}

static void write_host_state(void)
{
    struct __attribute__((packed)) { u16 limit; u32 base; } idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    vmcs_write(HOST_CR0, read_cr0());
    vmcs_write(HOST_CR3, read_cr3());
    vmcs_write(HOST_CR4, read_cr4());
    vmcs_write(HOST_CS_SELECTOR, SEL_CODE);
    vmcs_write(HOST_SS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_DS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_ES_SELECTOR, SEL_DATA);
    vmcs_write(HOST_FS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_GS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_TR_SELECTOR, SEL_TSS);
    vmcs_write(HOST_FS_BASE, 0);
    vmcs_write(HOST_GS_BASE, 0);
    vmcs_write(HOST_TR_BASE, (u32)tss);
    vmcs_write(HOST_GDTR_BASE, (u32)gdt);
    vmcs_write(HOST_IDTR_BASE, idtr.base);
    vmcs_write(HOST_SYSENTER_CS, 0);
    vmcs_write(HOST_SYSENTER_ESP, 0);
    vmcs_write(HOST_SYSENTER_EIP, 0);
    vmcs_write(HOST_RIP, (u32)vm_exit); /* HOST_RSP: vm_enter writes it */
}

static void write_controls(void)
{
    vmcs_write(PIN_CONTROLS, controls(MSR_VMX_PINBASED_CTLS, 0, "pin-based"));
    vmcs_write(PRIMARY_CONTROLS, controls(MSR_VMX_PROCBASED_CTLS,
                                          CPU_HLT_EXITING | CPU_UNCONDITIONAL_IO_EXITING | CPU_USE_MSR_BITMAPS, "processor-based"));
    vmcs_write(EXIT_CONTROLS, controls(MSR_VMX_EXIT_CTLS, 0, "VM-exit"));
    vmcs_write(ENTRY_CONTROLS, controls(MSR_VMX_ENTRY_CTLS, 0, "VM-entry"));
    vmcs_write(EXCEPTION_BITMAP, 0); /* L2 handles its own exceptions */
    vmcs_write(EXIT_MSR_STORE_COUNT, 0);
    vmcs_write(EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write(ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write(ENTRY_INTERRUPTION_INFO, 0);
    build_msr_bitmap();
    vmcs_write(MSR_BITMAP, (u32)msr_bitmap);
    vmcs_write(MSR_BITMAP_HIGH, 0);
}

static void run_l2(struct guest_regs *regs)
{
    for (u32 launched = 0;; launched = 1) {
        u32 flags = vm_enter(regs, launched);
        if (flags) {
            print_line_break();
            if (flags & 1)
                puts("nestvisor: VM entry failed: VMfailInvalid\n");
            else
                kprintf("nestvisor: VM entry failed: VM-instruction error %u\n", vmread(VM_INSTRUCTION_ERROR));
            return;
        }
        if (handle_exit(regs) == STOP)
            return;
    }
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

    /* L2 gets no device interrupts: mask both PICs (the BIOS leaves the timer running). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    load_segments();
    enable_vmx();
    *(u32 *)vmcs_region = *(u32 *)vmxon_region;
    if (VMX_FAILED(vmclear((u32)vmcs_region)) || VMX_FAILED(vmptrld((u32)vmcs_region)))
        fail("VMCLEAR or VMPTRLD of the VMCS failed");
    puts("nestvisor: VMX on, VMCS loaded\n");

    struct guest_regs regs;
    write_controls();
    write_host_state();
    l2_boot_state(&regs);
    exits_init();
    run_l2(&regs);

    print_exit_counts();
    vmxoff();
    kprintf("nestvisor: VMX off, L2's status %u\n", l2_status());
    stop_l1(l2_status());
}
