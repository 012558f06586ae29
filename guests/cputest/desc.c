/* desc.c - the test's own protected-mode environment: a GDT with flat ring-0/ring-3 code and
 * data plus the odd descriptors the exception and privilege tests need, an LDT, a TSS with
 * ESP0/SS0 and an I/O permission bitmap, and an IDT whose handlers record each exception and
 * resume at the recovery label the test set (the fault protocol described in cputest.h). */
#include "cputest.h"

u32 gdt[GDT_ENTRIES][2] __attribute__((aligned(8)));
u32 idt[IDT_VECTORS][2] __attribute__((aligned(8)));
u32 ldt[2][2] __attribute__((aligned(8)));
u8 seg_area[0x10000] __attribute__((aligned(16)));

/* 32-bit TSS followed by an I/O permission bitmap for ports 0..0x3ff; ports above are past
 * the TSS limit and therefore denied. Only port 0x3fd (COM1 line status) is allowed. */
struct tss {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
    u8 iomap[0x400 / 8 + 1];
} __attribute__((packed, aligned(16)));
static struct tss tss;

/* The stack the CPU switches to when an interrupt or call gate enters ring 0 from ring 3 */
u8 ring0_stack[8192] __attribute__((aligned(16)));
#define ring0_stack_end (ring0_stack + sizeof ring0_stack)

volatile struct fault last_fault;
volatile u32 fault_recover, fault_site, fault_esp;
u32 ncases;

void (*int80_hook)(struct frame *f);

static void set_seg(u32 *d, u32 base, u32 limit, u32 access, u32 flags)
{
    d[0] = (limit & 0xffff) | (base << 16);
    d[1] = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) |
           (base & 0xff000000);
}

static void set_gate(u32 *d, u32 sel, u32 offset, u32 access, u32 params)
{
    d[0] = (offset & 0xffff) | (sel << 16);
    d[1] = (offset & 0xffff0000) | (access << 8) | params;
}

#define FLAT 0xfffff
#define G32 0xc /* 4 KiB granularity, 32-bit */

extern const u32 isr_table[20];
extern void isr_0x80(void);
extern void callgate_target(void);
extern void ring1_target(void);

void set_cr0(u32 v) { __asm__ volatile("movl %0, %%cr0" : : "r"(v)); }
u32 get_cr0(void)
{
    u32 v;
    __asm__ volatile("movl %%cr0, %0" : "=r"(v));
    return v;
}

void desc_init(void)
{
    set_seg(gdt[1], 0, FLAT, 0x9b, G32);                 /* 0x08 code, ring 0 */
    set_seg(gdt[2], 0, FLAT, 0x93, G32);                 /* 0x10 data, ring 0 */
    set_seg(gdt[3], 0, FLAT, 0xfb, G32);                 /* 0x18 code, ring 3 */
    set_seg(gdt[4], 0, FLAT, 0xf3, G32);                 /* 0x20 data, ring 3 */
    set_seg(gdt[5], (u32)&tss, sizeof tss - 1, 0x89, 0); /* 0x28 available 32-bit TSS */
    set_seg(gdt[6], 0, FLAT, 0x91, G32);                 /* 0x30 read-only data */
    set_seg(gdt[7], 0, FLAT, 0x13, G32);                 /* 0x38 data, not present */
    set_seg(gdt[8], 0, FLAT, 0x99, G32);                 /* 0x40 execute-only code */
    set_seg(gdt[9], (u32)seg_area, 0xfff, 0xf3, 0x4);   /* 0x48 small data, ring 3 */
    set_seg(gdt[10], 0, FLAT, 0x9b, G32);                /* 0x50 second code, ring 0 */
    set_gate(gdt[11], SEL_CODE0, (u32)callgate_target, 0xec, 2); /* 0x58 call gate */
    set_seg(gdt[12], (u32)ldt, sizeof ldt - 1, 0x82, 0);  /* 0x60 LDT */
    set_seg(gdt[13], (u32)seg_area, 0xffff, 0x93, 0x4);   /* 0x68 based data */
    set_seg(gdt[14], 0, FLAT, 0xbb, G32);                 /* 0x70 code, ring 1 */
    set_gate(gdt[15], SEL_CODE1, (u32)ring1_target, 0xec, 0); /* 0x78 call gate to ring 1 */
    set_seg(gdt[16], 0, FLAT, 0xf1, G32);                 /* 0x80 read-only data, ring 3 */

    set_seg(ldt[0], 0, FLAT, 0x93, G32); /* LDT 0x04: flat data */
    set_seg(ldt[1], 0, FLAT, 0x13, G32); /* LDT 0x0c: not present */

    tss.esp0 = (u32)ring0_stack_end;
    tss.ss0 = SEL_DATA0;
    tss.esp1 = (u32)ring0_stack_end;
    tss.ss1 = SEL_DATA0; /* RPL 0 for a ring-1 stack: a call to ring 1 raises #TS(0x10) */
    tss.iomap_base = __builtin_offsetof(struct tss, iomap);
    for (unsigned i = 0; i < sizeof tss.iomap; i++)
        tss.iomap[i] = 0xff;
    tss.iomap[0x3fd / 8] &= (u8) ~(1u << (0x3fd % 8));

    for (unsigned v = 0; v < 20; v++)
        if (isr_table[v])
            set_gate(idt[v], SEL_CODE0, isr_table[v], v == 3 || v == 4 ? 0xee : 0x8e, 0);
    set_gate(idt[0x80], SEL_CODE0, (u32)isr_0x80, 0xef, 0); /* DPL 3 trap gate */
    set_gate(idt[0x40], SEL_CODE0, (u32)isr_0x80, 0x0e, 0); /* interrupt gate, P = 0 */

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
                     "movl $0x28, %%eax\n\tltr %%ax\n\t"
                     "movl $0x60, %%eax\n\tlldt %%ax"
                     :
                     : "m"(gdtr), "m"(idtr)
                     : "eax", "memory");
    set_cr0(get_cr0() & ~0xeu); /* clear MP, EM, TS: no x87 state is ever touched */
    __asm__ volatile("movl %0, %%cr4" : : "r"(0));
}

static const char *const vec_names[20] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "cso",
    "#TS", "#NP", "#SS", "#GP", "#PF", "v15", "#MF", "#AC", "#MC", "#XM"};

void exc_dispatch(struct frame *f)
{
    if (f->vec == 0x80 && int80_hook) {
        int80_hook(f);
        return;
    }
    last_fault.vec = f->vec;
    last_fault.err = f->err & 0xffff; /* the upper half of the pushed error code is reserved */
    last_fault.eip = f->eip;
    last_fault.cs = f->cs & 0xffff;
    last_fault.count++;
    if (!fault_recover) {
        kprintf("UNEXPECTED exception %x err %x at %x:%x\n", f->vec, f->err, f->cs & 0xffff,
                f->eip);
        guest_exit(2);
    }
    f->eip = fault_recover;
    fault_recover = 0;
}

void fault_clear(void)
{
    last_fault.count = 0;
    last_fault.vec = last_fault.err = last_fault.eip = last_fault.cs = 0;
}

void report_fault(const char *label)
{
    if (!last_fault.count) {
        tcase("%s: no exception", label);
        return;
    }
    const char *name = last_fault.vec < 20 ? vec_names[last_fault.vec] : "int";
    tcase("%s: %s vec=%02x err=%04x cs=%04x eip=site+%d", label, name, last_fault.vec,
          last_fault.err, last_fault.cs, (int)(last_fault.eip - fault_site));
}

void fault_case(const char *label, snippet_fn *fn, struct regs *r)
{
    fault_clear();
    run(r, fn);
    report_fault(label);
}

void tcase(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    kvprintf(fmt, ap);
    __builtin_va_end(ap);
    serial_putc('\n');
    ncases++;
}
