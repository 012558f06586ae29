/* machine.c - what the vmexit tests run on: a flat GDT (the one the boot loader left need not be
 * valid, and interrupt delivery loads CS from it) with ring-3 segments and a TSS for the syscall
 * test, an IDT (stubs.S), the PICs remapped to vectors
 * 0x20-0x2f with every line masked until a test unmasks its own, the PIT, and 32-bit paging:
 * ADDRESS_SPACES page directories that all map the first 32 MiB one to one through the same
 * page tables, except that the hidden-fault region (FRESH_BASE) has a second copy of its tables
 * in the first directory, so that swapping them makes every page of the region fresh again. */
#include "vmexit.h"

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define TSS_SELECTOR 0x28
#define IDENTITY_TABLES 8 /* 32 MiB */
#define PTE_P 1u
#define PTE_W 2u
#define PIT_CHANNEL0 0x40
#define PIT_MODE 0x43
#define COM1_MCR 0x3FC
#define MCR_DTR_RTS_OUT2 0x0B

volatile u32 interrupts_taken;
u32 page_directories[ADDRESS_SPACES];
u32 page_data[1024] __attribute__((aligned(4096)));

static u32 directories[ADDRESS_SPACES][1024] __attribute__((aligned(4096)));
static u32 tables[IDENTITY_TABLES][1024] __attribute__((aligned(4096)));
static u32 fresh_copy[FRESH_TABLES][1024] __attribute__((aligned(4096)));
static int fresh_swapped;

/* The TSS only gives the ring-0 stack an interrupt from ring 3 (the syscall test) switches to. */
static u32 tss[26] __attribute__((aligned(8)));
static u8 ring0_stack[1024] __attribute__((aligned(16)));

static u32 gdt[12] __attribute__((aligned(8))) = {
    0, 0,
    0x0000ffff, 0x00cf9a00, /* 0x08: code, base 0, 4 GiB, ring 0 */
    0x0000ffff, 0x00cf9200, /* 0x10: data */
    0x0000ffff, 0x00cffa00, /* 0x18: code, ring 3 (USER_CS = 0x1b) */
    0x0000ffff, 0x00cff200, /* 0x20: data, ring 3 (USER_DS = 0x23) */
    0, 0,                   /* 0x28: the TSS, filled in by load_tables() */
};
static u32 idt[256][2] __attribute__((aligned(8)));

extern char timer_stub[], com1_stub[], unexpected_stubs[], syscall_stub[], user_return_stub[];

void unexpected_vector(u32 vector)
{
    kprintf("vmexit: unexpected interrupt or exception %u\n", vector);
    guest_exit(2);
}

void set_gate(u32 vector, const void *handler, u32 dpl)
{
    u32 at = (u32)handler;
    idt[vector][0] = (KERNEL_CS << 16) | (at & 0xffff);
    idt[vector][1] = (at & 0xffff0000) | 0x8e00 | (dpl << 13); /* present, 32-bit interrupt gate */
}

void unexpected_gate(u32 vector)
{
    set_gate(vector, unexpected_stubs + 16 * vector, 0);
}

static void load_tables(void)
{
    u32 at = (u32)tss;
    tss[1] = (u32)ring0_stack + sizeof ring0_stack; /* ESP0 */
    tss[2] = KERNEL_DS;                             /* SS0 */
    tss[25] = sizeof tss << 16;                     /* I/O map base past the limit: no I/O bitmap */
    gdt[10] = (at << 16) | (sizeof tss - 1);
    gdt[11] = (at & 0xff000000) | 0x8900 | ((at >> 16) & 0xff); /* present, ring 0, 32-bit TSS */
    struct __attribute__((packed)) { u16 limit; u32 base; } gdtr = { sizeof gdt - 1, (u32)gdt }, idtr = { sizeof idt - 1, (u32)idt };
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n1:\n\t"
                     "movl %2, %%eax\n\tmovl %%eax, %%ds\n\tmovl %%eax, %%es\n\tmovl %%eax, %%ss\n\t"
                     "movl %%eax, %%fs\n\tmovl %%eax, %%gs\n\t"
                     "lidt %3\n\t"
                     "movw %4, %%ax\n\tltr %%ax"
                     : : "m"(gdtr), "i"(KERNEL_CS), "i"(KERNEL_DS), "m"(idtr), "i"(TSS_SELECTOR) : "eax", "memory");
}

static void pic_init(void)
{
    static const u8 init[2][5] = { { 0x20, 0x21, 0x20, 0x04, 0x01 }, { 0xA0, 0xA1, 0x28, 0x02, 0x01 } };
    for (int i = 0; i < 2; i++) {
        outb(init[i][0], 0x11);      /* ICW1: edge triggered, cascade, ICW4 follows */
        outb(init[i][1], init[i][2]); /* ICW2: vector base */
        outb(init[i][1], init[i][3]); /* ICW3: slave on IRQ 2 / slave id 2 */
        outb(init[i][1], init[i][4]); /* ICW4: 8086 mode */
    }
    pic_mask_all();
}

void pic_mask_all(void)
{
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
}

void pic_unmask(int irq)
{
    outb(PIC1_DATA, (u8)~(1u << irq));
}

void pit_periodic(u32 divisor)
{
    outb(PIT_MODE, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    outb(PIT_CHANNEL0, (u8)divisor);
    outb(PIT_CHANNEL0, (u8)(divisor >> 8));
}

void pit_stop(void)
{
    outb(PIT_MODE, 0x30); /* mode 0 with the longest count: one last tick, then silence */
    outb(PIT_CHANNEL0, 0);
    outb(PIT_CHANNEL0, 0);
}

static void paging_init(void)
{
    for (u32 t = 0; t < IDENTITY_TABLES; t++)
        for (u32 i = 0; i < 1024; i++)
            tables[t][i] = ((t * 1024 + i) * PAGE) | PTE_P | PTE_W;
    for (u32 t = 0; t < FRESH_TABLES; t++)
        memcpy(fresh_copy[t], tables[FRESH_BASE / (1024 * PAGE) + t], PAGE);
    for (u32 d = 0; d < ADDRESS_SPACES; d++) {
        for (u32 t = 0; t < IDENTITY_TABLES; t++)
            directories[d][t] = (u32)tables[t] | PTE_P | PTE_W;
        page_directories[d] = (u32)directories[d];
    }
}

u32 *pte_of(u32 address)
{
    return &tables[address / (1024 * PAGE)][(address / PAGE) % 1024];
}

void fresh_tables_swap(void)
{
    fresh_swapped = !fresh_swapped;
    for (u32 t = 0; t < FRESH_TABLES; t++) {
        u32 *table = fresh_swapped ? fresh_copy[t] : tables[FRESH_BASE / (1024 * PAGE) + t];
        directories[0][FRESH_BASE / (1024 * PAGE) + t] = (u32)table | PTE_P | PTE_W;
    }
    write_cr3(page_directories[0]);
}

/* Halt until a byte arrives on COM1 (its receive interrupt wakes the HLT), and take it. IER is
 * set again before each HLT: an interrupt the PIC latched earlier may come first, and its handler
 * clears IER. */
void wait_for_host(void)
{
    pic_unmask(IRQ_COM1);
    while (!(inb(COM1_LSR) & LSR_DR)) {
        outb(COM1_IER, IER_RDI);
        __asm__ volatile("sti\n\thlt\n\tcli");
    }
    outb(COM1_IER, 0);
    (void)inb(COM1_DATA);
    pic_mask_all();
}

void paging_on(void)
{
    write_cr3(page_directories[0]);
    write_cr0(read_cr0() | CR0_PG);
}

void paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
}

void machine_init(void)
{
    for (u32 v = 0; v < 0x30; v++)
        unexpected_gate(v);
    set_gate(0x20 + IRQ_TIMER, timer_stub, 0);
    set_gate(0x20 + IRQ_COM1, com1_stub, 0);
    set_gate(SYSCALL_VECTOR, syscall_stub, 3);
    set_gate(USER_RETURN_VECTOR, user_return_stub, 3);
    load_tables();
    pic_init();
    outb(COM1_MCR, MCR_DTR_RTS_OUT2); /* on a PC, OUT2 connects the UART's interrupt to the PIC */
    paging_init();
}
