/* cpuprobe.c - the processor as software finds it: the vendor's CPUID leaves (basic and extended,
 * and what a leaf past the maximum answers), the vendor's MSRs (EFER, AMD's VM_CR and VM_HSAVE_PA,
 * each read and written, #GP shown as such), and that the SVM instructions are #UD with
 * EFER.SVME clear. It runs on any IA-32 machine: wasmvisor with
 * --cpu intel or amd, QEMU (-cpu phenom), Bochs (an AMD model); what each prints is that CPU's
 * own answer, so the golden copies are per CPU (guests/cpuprobe-*.expected). */
#include "guest.h"
#include "../pm/pm.h"


/* The fault a probe took (vector), or NONE, and how long the probed instruction is, so the
 * handler can step over it. */
#define NONE 0xffffffffu
static volatile u32 fault_vector = NONE;
static volatile u32 probe_length;

static void skip_faulting(struct frame *f)
{
    fault_vector = f->vec;
    f->eip += probe_length;
}

static const char *fault_name(u32 vector)
{
    return vector == 6 ? "#UD" : vector == 13 ? "#GP" : "another fault";
}

static void cpuid(u32 leaf, u32 r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void print_leaf(u32 leaf)
{
    u32 r[4];
    cpuid(leaf, r);
    kprintf("leaf 0x%08x: %08x %08x %08x %08x\n", leaf, r[0], r[1], r[2], r[3]);
}

/* 12 bytes of vendor text in EBX, EDX, ECX (leaf 0) or EBX, ECX, EDX order. */
static void print_text(const u32 *words, int count)
{
    const char *c = (const char *)words;
    for (int i = 0; i < count * 4; i++)
        if (c[i])
            serial_putc(c[i]);
}

static void probe_cpuid(void)
{
    u32 r[4], vendor[3];
    cpuid(0, r);
    u32 max_basic = r[0];
    vendor[0] = r[1], vendor[1] = r[3], vendor[2] = r[2];
    puts("vendor: ");
    print_text(vendor, 3);
    kprintf(", highest basic leaf 0x%08x\n", max_basic);
    for (u32 leaf = 1; leaf <= max_basic && leaf < 8; leaf++)
        print_leaf(leaf);
    cpuid(1, r);
    u32 family = (r[0] >> 8) & 0xf, model = (r[0] >> 4) & 0xf;
    if (family == 0xf)
        family += (r[0] >> 20) & 0xff;
    if (family >= 6)
        model |= ((r[0] >> 16) & 0xf) << 4;
    kprintf("family 0x%x model 0x%x stepping %u\n", family, model, r[0] & 0xf);
    puts("past the highest basic leaf: ");
    print_leaf(max_basic + 1);

    cpuid(0x80000000, r);
    u32 max_extended = r[0];
    kprintf("highest extended leaf 0x%08x, EBX ECX EDX \"", max_extended);
    print_text(&r[1], 3);
    puts("\"\n");
    if (max_extended < 0x80000001 || max_extended > 0x8000ffff)
        return;
    for (u32 leaf = 0x80000001; leaf <= max_extended && leaf <= 0x8000000a; leaf++)
        print_leaf(leaf);
    if (max_extended >= 0x80000004) {
        u32 brand[12];
        for (u32 i = 0; i < 3; i++)
            cpuid(0x80000002 + i, &brand[4 * i]);
        puts("brand: \"");
        print_text(brand, 12);
        puts("\"\n");
    }
    cpuid(0x80000001, r);
    kprintf("SVM (0x80000001 ECX bit 2): %u\n", (r[2] >> 2) & 1);
    puts("past the highest extended leaf: ");
    print_leaf(max_extended + 1);
}

static u32 rdmsr(u32 msr, u64 *value)
{
    u32 lo = 0, hi = 0;
    fault_vector = NONE;
    probe_length = 2;
    __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr));
    *value = ((u64)hi << 32) | lo;
    return fault_vector;
}

static u32 wrmsr(u32 msr, u64 value)
{
    fault_vector = NONE;
    probe_length = 2;
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32)) : "memory");
    return fault_vector;
}

static void show_read(const char *name, u32 msr)
{
    u64 value;
    u32 fault = rdmsr(msr, &value);
    kprintf("RDMSR %s: ", name);
    if (fault != NONE)
        kprintf("%s\n", fault_name(fault));
    else
        kprintf("%08x_%08x\n", (u32)(value >> 32), (u32)value);
}

static void show_write(const char *name, u32 msr, u64 value)
{
    u32 fault = wrmsr(msr, value);
    kprintf("WRMSR %s <- %08x_%08x: %s\n", name, (u32)(value >> 32), (u32)value, fault == NONE ? "done" : fault_name(fault));
}

#define MSR_EFER 0xc0000080u
#define MSR_VM_CR 0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define EFER_SVME (1u << 12)

static void probe_msrs(void)
{
    u64 efer;
    show_read("EFER", MSR_EFER);
    if (rdmsr(MSR_EFER, &efer) == NONE) {
        show_write("EFER with SVME", MSR_EFER, efer | EFER_SVME);
        show_read("EFER", MSR_EFER);
        show_write("EFER as it was", MSR_EFER, efer);
        show_write("EFER with bit 63 (reserved)", MSR_EFER, efer | (1ull << 63));
    }
    show_read("VM_CR", MSR_VM_CR);
    show_write("VM_CR with bits 2:0", MSR_VM_CR, 0x7);
    show_read("VM_CR", MSR_VM_CR);
    show_write("VM_CR with bit 5 (reserved)", MSR_VM_CR, 0x20);
    show_read("VM_HSAVE_PA", MSR_VM_HSAVE_PA);
    show_write("VM_HSAVE_PA, unaligned", MSR_VM_HSAVE_PA, 0x200010);
    show_write("VM_HSAVE_PA, past 4 GiB", MSR_VM_HSAVE_PA, 0x100000000ull);
    show_write("VM_HSAVE_PA", MSR_VM_HSAVE_PA, 0x200000);
    show_read("VM_HSAVE_PA", MSR_VM_HSAVE_PA);
}

/* Each SVM instruction (0F 01 D8-DF, three bytes) run with EFER.SVME clear: the APM's #UD. */
#define SVM_PROBE(name, bytes)                                                       \
    static u32 name(void)                                                            \
    {                                                                                \
        fault_vector = NONE;                                                         \
        probe_length = 3;                                                            \
        __asm__ volatile(".byte " bytes : : "a"(0) : "memory");                       \
        return fault_vector;                                                         \
    }
SVM_PROBE(vmrun, "0x0f, 0x01, 0xd8")
SVM_PROBE(vmmcall, "0x0f, 0x01, 0xd9")
SVM_PROBE(vmload, "0x0f, 0x01, 0xda")
SVM_PROBE(vmsave, "0x0f, 0x01, 0xdb")
SVM_PROBE(stgi, "0x0f, 0x01, 0xdc")
SVM_PROBE(clgi, "0x0f, 0x01, 0xdd")
SVM_PROBE(invlpga, "0x0f, 0x01, 0xdf")

static void probe_instructions(void)
{
    static const struct {
        const char *name;
        u32 (*run)(void);
    } svm[] = {{"VMRUN", vmrun}, {"VMMCALL", vmmcall}, {"VMLOAD", vmload}, {"VMSAVE", vmsave},
               {"STGI", stgi}, {"CLGI", clgi}, {"INVLPGA", invlpga}};
    u64 efer = 0;
    if (rdmsr(MSR_EFER, &efer) != NONE || !(efer & EFER_SVME)) {
        for (unsigned i = 0; i < sizeof svm / sizeof svm[0]; i++) {
            u32 fault = svm[i].run();
            kprintf("%s with EFER.SVME clear: %s\n", svm[i].name, fault == NONE ? "no fault" : fault_name(fault));
        }
    }
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    (void)mb;
    pm_init();
    pm_set_handler(6, skip_faulting);
    pm_set_handler(13, skip_faulting);
    puts("cpuprobe: the processor as CPUID and its MSRs show it\n");
    probe_cpuid();
    probe_msrs();
    probe_instructions();
    puts("cpuprobe: done\n");
    bochs_shutdown();
    return 0;
}
