/* detect - hypervisor detection the way real software does it, one verdict line:
 *  1. CPUID leaf 1, ECX bit 31: set by every hypervisor, reserved (0) on real CPUs;
 *  2. CPUID leaf 0x40000000: the highest hypervisor leaf in EAX, a 12-byte vendor signature in
 *     EBX, ECX, EDX ("KVMKVMKVM\0\0\0", "Microsoft Hv", "VMwareVMware", ...);
 *  3. per vendor: Hyper-V's interface signature "Hv#1" (leaf 0x40000001) and the CreatePartitions
 *     privilege (leaf 0x40000003 EBX bit 0) that tells the root partition from a child, as Linux's
 *     hv_root_partition test does; KVM's feature leaf 0x40000001; wasmvisor's hypercall ABI. */
#include "guest.h"

static void cpuid(u32 leaf, u32 r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* The signature as text, NULs shown as \0. */
static void put_signature(const char sig[12])
{
    for (int i = 0; i < 12; i++) {
        if (sig[i])
            serial_putc(sig[i]);
        else
            puts("\\0");
    }
}

static void hyperv(u32 max)
{
    u32 r[4];
    cpuid(0x40000001, r);
    if (r[0] != 0x31237648 || max < 0x40000003) { /* "Hv#1" */
        puts("detect: Hyper-V signature without the Hv#1 interface\n");
        return;
    }
    cpuid(0x40000003, r);
    if (r[1] & 1)
        puts("detect: Hyper-V root partition (CreatePartitions privilege)\n");
    else
        puts("detect: Hyper-V child partition (a guest VM)\n");
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    (void)mb;
    u32 r[4];
    char sig[12];
    cpuid(1, r);
    if (!(r[2] & (1u << 31))) {
        puts("detect: bare metal (CPUID.1:ECX[31] clear)\n");
        return 0;
    }
    cpuid(0x40000000, r);
    u32 max = r[0];
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    if (!memcmp(sig, "Microsoft Hv", 12)) {
        hyperv(max);
    } else if (!memcmp(sig, "KVMKVMKVM\0\0\0", 12)) {
        cpuid(0x40000001, r);
        kprintf("detect: KVM guest (KVM features 0x%08x)\n", r[0]);
    } else if (!memcmp(sig, "VMwareVMware", 12)) {
        puts("detect: VMware guest\n");
    } else if (!memcmp(sig, "wasmvisor\0\0\0", 12) && max >= 0x40000001) {
        cpuid(0x40000001, r);
        kprintf("detect: wasmvisor guest (hypercall ABI %u, functions 1-%u)\n", r[0], r[1]);
    } else {
        puts("detect: unknown hypervisor \"");
        put_signature(sig);
        kprintf("\" (max leaf 0x%08x)\n", max);
    }
    return 0;
}
