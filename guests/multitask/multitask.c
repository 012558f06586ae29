/* multitask - a small kernel with N user processes (ring 3), each in its own page directory,
 * switched round-robin: by a yield system call (INT 0x80), or by the 8254 timer through the
 * 8259 PIC. It is the guest behind the CR3-target cliff: every switch loads CR3, so with up to
 * four processes a VMM with four CR3-target slots switches without exits, and with five or more
 * (round-robin defeats LRU) every switch is a CR3-load exit.
 *
 *   --cmdline "N [ROUNDS] [yield|timer] [light]"
 *       N = 1-8 processes (default 4), ROUNDS per process (default 100), switching mode (default
 *       yield); `light` checks one dword per page per round instead of one in 64, so that a round
 *       is little more than its switch (for the benchmark)
 *
 * Memory: 0-8 MiB identity-mapped, supervisor-only, in every directory (one shared pair of page
 * tables) except the user program's own pages (user.S) and the read-only kinfo page; 4-8 MiB is
 * the frame pool. Each process has its own directory and page table mapping 16 KiB of private
 * memory at PRIVATE_VA and a stack page below STACK_TOP: the same linear addresses in every
 * process, different frames. user.S describes what a process does; at the end the kernel also
 * checks each process's frames from outside and prints a summary, then exits 0 through the
 * debug-exit port. In yield mode the output is fully determined (same under QEMU); in timer mode
 * the number of switches depends on the timer, so only lower bounds are printed. */
#include "../pm/pm.h"

#define MAX_PROCS 8
#define PRIVATE_VA 0x40000000u
#define PRIVATE_PAGES 4
#define STACK_TOP 0x40400000u /* the stack page is the last one of the private page table */
#define POOL_START 0x00400000u
#define POOL_END 0x00800000u
#define TIMER_VECTOR 0x20      /* IRQ 0 after remapping the master PIC */
#define PIT_DIVISOR 1193       /* 1.193182 MHz / 1193 = about 1 kHz */
#define SYS_YIELD 0
#define SYS_EXIT 1
#define K_PID 0x9e3779b1u      /* user.S's pattern */
#define K_ROUND 0x85ebca77u
#define STRIDE 64
#define LIGHT_STRIDE 1024

struct process {
    u32 pd;              /* its page directory (physical = linear) */
    u32 frames[PRIVATE_PAGES];
    struct frame ctx;    /* user registers while it is not running */
    int alive;
    u32 errors;          /* what it reported at exit */
};

static struct process procs[MAX_PROCS];
static u32 nprocs, rounds, timer_mode, stride = STRIDE, current;
static u32 switches;     /* CR3 loads by the scheduler */
static u32 *identity[2]; /* the shared identity-map page tables */
static u32 pool_next = POOL_START;

/* The one page user code may read besides its own: the switch counter, for timer mode. */
static volatile u32 kinfo[1024] __attribute__((aligned(4096)));

extern const char user_text_start[], user_text_end[], user_main[];

static u32 frame_alloc(void)
{
    u32 frame = pool_next;
    pool_next += PAGE;
    memset((void *)frame, 0, PAGE); /* paging is off or the pool is identity-mapped */
    return frame;
}

/* ---- Command line: "N [ROUNDS] [yield|timer]" ------------------------------------------------ */
static void parse_cmdline(const struct mb_info *mb)
{
    const char *s = mb_cmdline_args(mb);
    u32 numbers[2] = {4, 100}, count = 0;
    while (*s) {
        const char *w = s;
        u32 v = 0;
        while (*s >= '0' && *s <= '9')
            v = v * 10 + (u32)(*s++ - '0');
        if (s != w && (*s == ' ' || !*s) && count < 2)
            numbers[count++] = v;
        else if (!memcmp(w, "timer", 5) && (w[5] == ' ' || !w[5]))
            timer_mode = 1;
        else if (!memcmp(w, "light", 5) && (w[5] == ' ' || !w[5]))
            stride = LIGHT_STRIDE;
        while (*s && *s != ' ')
            s++;
        while (*s == ' ')
            s++;
    }
    nprocs = numbers[0] < 1 ? 1 : numbers[0] > MAX_PROCS ? MAX_PROCS : numbers[0];
    rounds = numbers[1];
}

/* ---- Address spaces ------------------------------------------------------------------------ */
static void build_identity(void)
{
    for (u32 t = 0; t < 2; t++) {
        identity[t] = (u32 *)frame_alloc();
        for (u32 i = 0; i < 1024; i++)
            identity[t][i] = ((t << 22) + (i << 12)) | PTE_P | PTE_W;
    }
    for (u32 a = (u32)user_text_start; a < (u32)user_text_end; a += PAGE)
        identity[0][a >> 12] = a | PTE_P | PTE_U; /* the user program: read-only, user */
    identity[0][(u32)kinfo >> 12] = (u32)kinfo | PTE_P | PTE_U;
}

static void build_process(u32 pid)
{
    struct process *p = &procs[pid];
    u32 *pd = (u32 *)frame_alloc(), *pt = (u32 *)frame_alloc();
    pd[0] = (u32)identity[0] | PTE_P | PTE_W | PTE_U; /* U here, the PTEs decide */
    pd[1] = (u32)identity[1] | PTE_P | PTE_W;
    pd[PRIVATE_VA >> 22] = (u32)pt | PTE_P | PTE_W | PTE_U;
    for (u32 i = 0; i < PRIVATE_PAGES; i++) {
        p->frames[i] = frame_alloc();
        pt[i] = p->frames[i] | PTE_P | PTE_W | PTE_U;
    }
    pt[1023] = frame_alloc() | PTE_P | PTE_W | PTE_U; /* stack */
    p->pd = (u32)pd;

    struct frame *c = &p->ctx;
    c->gs = c->fs = c->es = c->ds = SEL_DATA3;
    c->eax = pid;
    c->ebx = rounds;
    c->ecx = timer_mode;
    c->edx = (u32)&kinfo[0];
    c->esi = stride;
    c->eip = (u32)user_main;
    c->cs = SEL_CODE3;
    c->eflags = EFLAGS_RESERVED | (timer_mode ? EFLAGS_IF : 0);
    c->esp = STACK_TOP;
    c->ss = SEL_DATA3;
    p->alive = 1;
}

/* ---- Scheduling ---------------------------------------------------------------------------- */
static void summary(void) __attribute__((noreturn));

/* Leave the running process (its registers are in *f) for the next live one, round-robin.
 * CR3 is loaded on every switch, even back to the same process (N = 1), so that each switch
 * does the same work. */
static void switch_from(struct frame *f)
{
    procs[current].ctx = *f;
    u32 next = current;
    do
        next = (next + 1) % nprocs;
    while (!procs[next].alive && next != current);
    if (!procs[next].alive)
        summary(); /* nobody left */
    current = next;
    write_cr3(procs[next].pd);
    switches++;
    kinfo[0] = switches;
    *f = procs[next].ctx;
}

static void syscall(struct frame *f)
{
    if ((f->cs & 3) != 3)
        pm_unexpected(f);
    if (f->eax == SYS_EXIT) {
        procs[current].alive = 0;
        procs[current].errors = f->ebx;
    } else if (f->eax != SYS_YIELD) {
        kprintf("multitask: process %u made unknown system call %u\n", current, f->eax);
        guest_exit(2);
    }
    switch_from(f);
}

static void timer_tick(struct frame *f)
{
    outb(0x20, 0x20); /* EOI to the master PIC */
    if ((f->cs & 3) == 3)
        switch_from(f);
}

/* 8259 pair: master at vectors 0x20-0x27, slave 0x28-0x2f, only IRQ 0 unmasked; 8254 channel 0
 * in mode 2 (rate generator). */
static void start_timer(void)
{
    outb(0x20, 0x11); outb(0xa0, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    outb(0x21, 0x20); outb(0xa1, 0x28); /* ICW2: vector bases */
    outb(0x21, 0x04); outb(0xa1, 0x02); /* ICW3: slave on IRQ 2 */
    outb(0x21, 0x01); outb(0xa1, 0x01); /* ICW4: 8086 mode */
    outb(0x21, 0xfe); outb(0xa1, 0xff); /* masks */
    outb(0x43, 0x34);                   /* channel 0, LSB then MSB, mode 2 */
    outb(0x40, PIT_DIVISOR & 0xff);
    outb(0x40, PIT_DIVISOR >> 8);
}

/* Enter the first process: its saved frame is exactly what the interrupt stubs pop. */
static void enter(struct frame *f) __attribute__((noreturn));
static void enter(struct frame *f)
{
    __asm__ volatile("movl %0, %%esp\n\t"
                     "popl %%gs\n\tpopl %%fs\n\tpopl %%es\n\tpopl %%ds\n\t"
                     "popal\n\t"
                     "addl $8, %%esp\n\t"
                     "iretl"
                     :
                     : "r"(f)
                     : "memory");
    __builtin_unreachable();
}

/* ---- The end ------------------------------------------------------------------------------- */
/* The frames seen from outside: the dwords of the last round hold its pattern. */
static u32 frames_wrong(u32 pid)
{
    if (!rounds)
        return 0;
    u32 r = rounds - 1, wrong = 0;
    u32 base = (pid + 1) * K_PID + r * K_ROUND;
    for (u32 i = r % stride; i < PRIVATE_PAGES * 1024; i += stride) {
        u32 *frame = (u32 *)procs[pid].frames[i / 1024];
        wrong += frame[i % 1024] != base + 4 * i;
    }
    return wrong;
}

static void summary(void)
{
    u32 bad = 0;
    for (u32 pid = 0; pid < nprocs; pid++) {
        u32 outside = frames_wrong(pid);
        kprintf("process %u: %u rounds, %u wrong dwords seen, frames %s\n", pid, rounds,
                procs[pid].errors, outside ? "WRONG" : "ok");
        bad += procs[pid].errors + outside;
    }
    if (timer_mode)
        kprintf("multitask: timer switches %s %u\n", switches >= nprocs * rounds ? ">=" : "<",
                nprocs * rounds);
    else
        kprintf("multitask: %u switches\n", switches);
    kprintf("multitask: verification %s\n", bad ? "FAILED" : "OK");
    guest_exit(bad ? 1 : 0);
}

int kmain(u32 magic, const struct mb_info *mb)
{
    if (magic != MB_BOOT_MAGIC) {
        kprintf("bad multiboot magic %08x\n", magic);
        return 1;
    }
    parse_cmdline(mb);
    kprintf("multitask: %u processes, %u rounds each, %s%s\n", nprocs, rounds,
            timer_mode ? "timer" : "yield", stride == LIGHT_STRIDE ? ", light" : "");
    pm_init();
    pm_set_handler(0x80, syscall);
    pm_set_handler(TIMER_VECTOR, timer_tick);
    build_identity();
    for (u32 pid = 0; pid < nprocs; pid++)
        build_process(pid);

    current = 0;
    write_cr3(procs[0].pd); /* the kernel never has an address space of its own */
    write_cr0(read_cr0() | CR0_PG);
    if (timer_mode)
        start_timer();
    enter(&procs[0].ctx);
}
