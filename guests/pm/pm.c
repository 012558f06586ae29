/* pm.c - the descriptor tables of pm.h: flat ring-0/ring-3 code and data, a TSS that gives
 * interrupts from ring 3 a ring-0 stack, and an IDT that sends every vector with a stub to
 * pm_dispatch(). */
#include "pm.h"

static u32 gdt[6][2] __attribute__((aligned(8)));
static u32 idt[256][2] __attribute__((aligned(8)));
pm_handler *pm_handlers[256];

/* Only ss0:esp0 matter: no hardware task switches, no I/O bitmap (the map base lies past the
 * limit, so ring 3 has no port access). */
static struct {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
} __attribute__((packed, aligned(16))) tss;

static u8 ring0_stack[16384] __attribute__((aligned(16)));

extern const u32 pm_stub_table[]; /* entry.S: vector, stub address pairs, ending with 0, 0 */
void pm_return_from_user(struct frame *f);

static void set_seg(u32 *d, u32 base, u32 limit, u32 access, u32 flags)
{
    d[0] = (limit & 0xffff) | (base << 16);
    d[1] = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) |
           (base & 0xff000000);
}

static void set_gate(u32 vector, u32 offset, u32 access)
{
    idt[vector][0] = (offset & 0xffff) | ((u32)SEL_CODE0 << 16);
    idt[vector][1] = (offset & 0xffff0000) | (access << 8);
}

void pm_set_kernel_stack(u32 esp0) { tss.esp0 = esp0; }

void pm_init(void)
{
    set_seg(gdt[1], 0, 0xfffff, 0x9b, 0xc);               /* 0x08 code, ring 0 */
    set_seg(gdt[2], 0, 0xfffff, 0x93, 0xc);               /* 0x10 data, ring 0 */
    set_seg(gdt[3], 0, 0xfffff, 0xfb, 0xc);               /* 0x18 code, ring 3 */
    set_seg(gdt[4], 0, 0xfffff, 0xf3, 0xc);               /* 0x20 data, ring 3 */
    set_seg(gdt[5], (u32)&tss, sizeof tss - 1, 0x89, 0);  /* 0x28 available 32-bit TSS */
    tss.ss0 = SEL_DATA0;
    tss.esp0 = (u32)(ring0_stack + sizeof ring0_stack);
    tss.iomap_base = sizeof tss;

    /* interrupt gates (IF cleared on entry); 0x80 is a DPL-3 interrupt gate so ring 3 may
     * use INT 0x80 and the kernel runs it with interrupts off */
    for (const u32 *s = pm_stub_table; s[1]; s += 2)
        set_gate(s[0], s[1], s[0] == 0x80 ? 0xee : 0x8e);
    pm_handlers[0x80] = pm_return_from_user;

    struct __attribute__((packed)) {
        u16 limit;
        u32 base;
    } gdtr = {sizeof gdt - 1, (u32)gdt}, idtr = {sizeof idt - 1, (u32)idt};
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp $0x08, $1f\n"
                     "1:\tmovl $0x10, %%eax\n\t"
                     "movl %%eax, %%ds\n\tmovl %%eax, %%es\n\tmovl %%eax, %%fs\n\t"
                     "movl %%eax, %%gs\n\tmovl %%eax, %%ss\n\t"
                     "lidt %1\n\t"
                     "movl $0x28, %%eax\n\tltr %%ax"
                     :
                     : "m"(gdtr), "m"(idtr)
                     : "eax", "memory");
}

void pm_set_handler(u32 vector, pm_handler *h) { pm_handlers[vector & 0xff] = h; }

void pm_unexpected(const struct frame *f)
{
    kprintf("UNEXPECTED vector %u err %x at %x:%08x cr2 %08x\n", f->vec, f->err, f->cs & 0xffff,
            f->eip, read_cr2());
    guest_exit(2);
}

void pm_dispatch(struct frame *f)
{
    pm_handler *h = pm_handlers[f->vec & 0xff];
    if (!h)
        pm_unexpected(f);
    h(f);
}

/* Default INT 0x80: the end of a user_call(), result in EAX. */
void pm_return_from_user(struct frame *f)
{
    if ((f->cs & 3) != 3)
        pm_unexpected(f);
    user_return(f->eax);
}
