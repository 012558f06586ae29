/* privilege.c - rings. IRET from ring 0 to ring-3 code (the TSS supplies ESP0/SS0 for the way
 * back), then in ring 3: the selectors (CPL 3; ES and GS, which held ring-0 data selectors, are
 * nulled by the IRET), POPF silently keeping IF and IOPL, every privileged instruction raising
 * #GP(0), I/O through the TSS permission bitmap (port 0x3fd allowed, 0x3fc denied, a word at
 * 0x3fd touches 0x3fe: denied), INT n through DPL-0 (#GP) and DPL-3 gates, far transfers to
 * ring 0 refused, a call gate to ring 0 with two parameters (stack switch, parameter copy,
 * RET imm16 back), a call gate to ring 1 whose TSS stack is invalid (#TS), LAR/VERR/VERW, and
 * SGDT/SMSW/STR/SLDT (not privileged while CR4.UMIP is clear). The same with IOPL 3. Ring 3
 * cannot print, so results are kept in memory; INT 0x80 through a DPL-3 trap gate returns to
 * ring 0, where the handler records the stack it runs on and the frame the CPU pushed. */
#include "cputest.h"

u8 ring3_stack[8192] __attribute__((aligned(16)));
extern u8 ring0_stack[8192];
#define RING3_TOP ((u32)ring3_stack + sizeof ring3_stack)
#define RING0_TOP ((u32)ring0_stack + 8192)

/* enter_ring3(fn, eflags): IRET to fn in ring 3; comes back when ring 3 executes INT 0x80.
 * ring3_entry records the selectors, reloads ES/GS so compiled C may use them, calls fn. */
void enter_ring3(void (*fn)(void), u32 eflags);
u32 r3_segs[6], r3_fn, ring0_saved_esp, r3_int80_ret;
u32 cg_info[10];
__asm__(".pushsection .text\n"
        "enter_ring3:\n\t"
        "pushl %ebp; pushl %ebx; pushl %esi; pushl %edi\n\t"
        "movl %esp, ring0_saved_esp\n\t"
        "movl 20(%esp), %ecx; movl %ecx, r3_fn; movl 24(%esp), %edx\n\t"
        "movl $0x23, %eax; movl %eax, %ds; movl %eax, %fs\n\t"
        "movl $0x10, %eax; movl %eax, %es; movl %eax, %gs\n\t" /* DPL 0: nulled by the IRET */
        "pushl $0x23; pushl $ring3_stack + 8192; pushl %edx; pushl $0x1b; pushl $ring3_entry\n\t"
        "iretl\n"
        "ring3_entry:\n\t"
        "movw %cs, r3_segs; movw %ss, r3_segs + 4; movw %ds, r3_segs + 8\n\t"
        "movw %es, r3_segs + 12; movw %fs, r3_segs + 16; movw %gs, r3_segs + 20\n\t"
        "movl $0x23, %eax; movl %eax, %es; movl %eax, %gs\n\t"
        "call *r3_fn\n\t"
        "movl $1f, r3_int80_ret; int $0x80; 1: ud2\n"
        "ring3_return:\n\t" /* the INT 0x80 handler IRETs here, still on the ring-0 stack */
        "movl $0x10, %eax; movl %eax, %ds; movl %eax, %es; movl %eax, %fs; movl %eax, %gs\n\t"
        "movl %eax, %ss; movl ring0_saved_esp, %esp; pushl $2; popfl\n\t"
        "popl %edi; popl %esi; popl %ebx; popl %ebp; ret\n"
        /* call gate target, ring 0: record where we are and the frame, return with RET 8 */
        ".globl callgate_target, ring1_target\n"
        "callgate_target:\n\t"
        "movw %cs, cg_info; movw %ss, cg_info + 4; movl %esp, cg_info + 8\n\t"
        "movl 0(%esp), %eax; movl %eax, cg_info + 12; movl 4(%esp), %eax; movl %eax, cg_info + 16\n\t"
        "movl 8(%esp), %eax; movl %eax, cg_info + 20; movl 12(%esp), %eax; movl %eax, cg_info + 24\n\t"
        "movl 16(%esp), %eax; movl %eax, cg_info + 28; movl 20(%esp), %eax; movl %eax, cg_info + 32\n\t"
        "lret $8\n"
        "ring1_target: lret\n" /* never reached: TSS.SS1 is invalid */
        ".popsection");
void ring3_return(void);

/* what the INT 0x80 handler saw */
static struct {
    u32 ss, cs, frame_cs, frame_ss, frame_esp, frame_eflags, frame_at, eip_ok;
} exit_info;

static void ring3_exit(struct frame *f)
{
    u32 ss, cs;
    __asm__ volatile("movl %%ss, %0; movl %%cs, %1" : "=r"(ss), "=r"(cs));
    exit_info.ss = ss & 0xffff;
    exit_info.cs = cs & 0xffff;
    exit_info.frame_cs = f->cs & 0xffff;
    exit_info.frame_ss = f->ss & 0xffff;
    exit_info.frame_esp = f->esp;
    exit_info.frame_eflags = f->eflags;
    exit_info.frame_at = (u32)&f->eip;
    exit_info.eip_ok = f->eip == r3_int80_ret;
    f->cs = SEL_CODE0; /* same-privilege IRET: pops EIP, CS, EFLAGS only */
    f->eip = (u32)ring3_return;
}

/* ---- the cases run in ring 3 ---------------------------------------------------------- */
FSNIP(p_pushf, "", "pushfl; popl %eax");
/* IOPL 0: POPF cannot change IF or IOPL. IOPL 3: it could set IF, which is not wanted (no
 * interrupts here), so that variant tries to clear IOPL instead. */
FSNIP(p_popf, "", "pushl $0x3ad7; popfl; pushfl; popl %eax; pushl $0x0002; popfl; pushfl; popl %ebx");
FSNIP(p_popf3, "", "pushl $0x08d7; popfl; pushfl; popl %eax; pushl $0x0002; popfl; pushfl; popl %ebx");
FSNIP(p_cli, "", "cli");
FSNIP(p_sti, "", "sti");
FSNIP(p_hlt, "", "hlt");
FSNIP(p_mov_cr0, "", "movl %cr0, %eax");
FSNIP(p_mov_cr3, "", "movl %eax, %cr3");
FSNIP(p_mov_dr7, "", "movl %eax, %db7");
FSNIP(p_lgdt, "", "lgdt alu_mem");
FSNIP(p_lidt, "", "lidt alu_mem");
FSNIP(p_ltr, "", "ltr %ax");
FSNIP(p_lldt, "", "lldt %ax");
FSNIP(p_lmsw, "", "lmsw %ax");
FSNIP(p_clts, "", "clts");
FSNIP(p_invlpg, "", "invlpg alu_mem");
FSNIP(p_wbinvd, "", "wbinvd");
FSNIP(p_in_ok, "movl $0x3fd, %edx", "inb %dx, %al");
FSNIP(p_in_deny, "movl $0x3fc, %edx", "inb %dx, %al");
FSNIP(p_inw_deny, "movl $0x3fd, %edx", "inw %dx, %ax");
FSNIP(p_ds0, "movl $0x10, %eax", "movl %eax, %ds");
FSNIP(p_ds_ro3, "movl $0x83, %eax", "movl %eax, %ds; movl $0x23, %ecx; movl %ecx, %ds");
FSNIP(p_int0d, "", "int $0x0d");
FSNIP(p_int3, "", "int3");
FSNIP(p_into, "movl $0x7fffffff, %eax; incl %eax", "into");
FSNIP(p_ud2, "", "ud2");
FSNIP(p_ljmp0, "", "ljmp $0x08, $9f");
FSNIP(p_lret0, "", "pushl $0x08; pushl $9f; lret");
FSNIP(p_iret0, "", "pushfl; pushl $0x08; pushl $9f; iretl");
FSNIP(p_iret3, "", "pushfl; pushl $0x1b; pushl $1f; iretl; 1: movl %cs, %eax");
FSNIP(p_gate1, "", "lcall $0x7b, $0");
/* EDI: how far ESP moved over the call (RET 8 drops the parameters); EDX: the ESP the gate
 * saved on the ring-0 stack minus ESP at the call (0) */
FSNIP(p_gate0, "", "pushl $0x1111; pushl $0x2222; movl %esp, %esi; lcall $0x5b, $0; "
                   "movl %esp, %edi; subl %esi, %edi; movl %cs, %eax; movl %ss, %ebx; "
                   "movl cg_info + 28, %edx; subl %esi, %edx");
/* ZF of LAR 0x10, LAR 0x23, VERR 0x08, VERR 0x40, VERW 0x23, VERW 0x83: EAX bits 5..0 */
#define ZBIT "setz %bl; shll $1, %eax; orb %bl, %al; "
FSNIP(p_lar, "xorl %eax, %eax; movl $0x10, %ecx; movl $0x23, %edx",
      "larl %ecx, %esi; " ZBIT "larl %edx, %esi; " ZBIT "movl $0x08, %ecx; verr %cx; " ZBIT
      "movl $0x40, %ecx; verr %cx; " ZBIT "verw %dx; " ZBIT "movl $0x83, %ecx; verw %cx; " ZBIT);
/* SMSW keeps only PE MP EM TS (ET and a register's upper half vary between CPUs) */
FSNIP(p_tables, "", "sgdt cg_info + 36; smsw %eax; andl $15, %eax; str %ebx; sldt %ecx; "
                    "movl cg_info + 38, %edx; subl $gdt, %edx; movzwl cg_info + 36, %esi");

enum { SHOW_A = 1, SHOW_B = 2, SHOW_C = 4, SHOW_D = 8, SHOW_S = 16, SHOW_DI = 32 };
struct r3case {
    const char *name;
    snippet_fn *fn;
    u32 eax, show, mask; /* registers to print, and a mask applied to them */
};
static const struct r3case iopl0_cases[] = {
    {"pushf", p_pushf, 0, SHOW_A, 0x3ad5},
    {"popf 3ad7 then 0002", p_popf, 0, SHOW_A | SHOW_B, 0x3ad5},
    {"cli", p_cli, 0, 0, 0}, {"sti", p_sti, 0, 0, 0}, {"hlt", p_hlt, 0, 0, 0},
    {"mov cr0,eax", p_mov_cr0, 0, 0, 0}, {"mov eax,cr3", p_mov_cr3, 0, 0, 0},
    {"mov eax,dr7", p_mov_dr7, 0, 0, 0}, {"lgdt", p_lgdt, 0, 0, 0}, {"lidt", p_lidt, 0, 0, 0},
    {"ltr", p_ltr, SEL_TSS, 0, 0}, {"lldt", p_lldt, SEL_LDT, 0, 0}, {"lmsw", p_lmsw, 1, 0, 0},
    {"clts", p_clts, 0, 0, 0}, {"invlpg", p_invlpg, 0, 0, 0}, {"wbinvd", p_wbinvd, 0, 0, 0},
    {"in 3fd (bitmap allows)", p_in_ok, 0, 0, 0}, {"in 3fc (bitmap denies)", p_in_deny, 0, 0, 0},
    {"inw 3fd (3fe denied)", p_inw_deny, 0, 0, 0}, {"mov ds,dpl0 data", p_ds0, 0, 0, 0},
    {"mov ds,dpl3 read-only", p_ds_ro3, 0, 0, 0}, {"int 0x0d (dpl 0 gate)", p_int0d, 0, 0, 0},
    {"int3 (dpl 3 gate)", p_int3, 0, 0, 0}, {"into", p_into, 0, 0, 0}, {"ud2", p_ud2, 0, 0, 0},
    {"ljmp ring-0 code", p_ljmp0, 0, 0, 0}, {"lret to ring 0", p_lret0, 0, 0, 0},
    {"iret to ring 0", p_iret0, 0, 0, 0},
    {"iret within ring 3", p_iret3, 0, SHOW_A, 0xffff},
    {"call gate to ring 1, bad tss.ss1", p_gate1, 0, 0, 0},
    {"call gate to ring 0", p_gate0, 0, SHOW_A | SHOW_B | SHOW_D | SHOW_DI, 0xffff},
    {"lar/verr/verw zf bits", p_lar, 0, SHOW_A, 0xffffffff},
    {"sgdt/smsw/str/sldt", p_tables, 0, SHOW_A | SHOW_B | SHOW_C | SHOW_D | SHOW_S, 0xffff},
};
static const struct r3case iopl3_cases[] = {
    {"pushf", p_pushf, 0, SHOW_A, 0x3ad5},
    {"popf 08d7 then 0002", p_popf3, 0, SHOW_A | SHOW_B, 0x3ad5},
    {"cli", p_cli, 0, 0, 0}, {"hlt", p_hlt, 0, 0, 0},
    {"in 3fc", p_in_deny, 0, 0, 0}, {"inw 3fd", p_inw_deny, 0, 0, 0},
    {"mov cr0,eax", p_mov_cr0, 0, 0, 0},
};
#define MAX_R3 40

static struct r3result {
    struct fault f;
    u32 site;
    struct regs r;
} r3_results[MAX_R3];
static const struct r3case *r3_cases;
static unsigned r3_ncases;

static void ring3_main(void) /* runs in ring 3 */
{
    for (unsigned i = 0; i < r3_ncases; i++) {
        struct regs r = {0};
        r.eax = r3_cases[i].eax;
        r.eflags = 0;
        fault_clear();
        run(&r, r3_cases[i].fn);
        r3_results[i].f.count = last_fault.count;
        r3_results[i].f.vec = last_fault.vec;
        r3_results[i].f.err = last_fault.err;
        r3_results[i].f.cs = last_fault.cs;
        r3_results[i].f.eip = last_fault.eip;
        r3_results[i].site = fault_site;
        r3_results[i].r = r;
    }
}

static void report_r3(const char *ring, const struct r3case *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct r3result *x = &r3_results[i];
        char label[64];
        unsigned k = 0;
        for (const char *s = ring; *s && k < 20; s++)
            label[k++] = *s;
        label[k++] = ' ';
        for (const char *s = c[i].name; *s && k < sizeof label - 1; s++)
            label[k++] = *s;
        label[k] = 0;
        last_fault.count = x->f.count, last_fault.vec = x->f.vec, last_fault.err = x->f.err;
        last_fault.cs = x->f.cs, last_fault.eip = x->f.eip, fault_site = x->site;
        report_fault(label);
        if (!c[i].show)
            continue;
        static const char *const names[6] = {"eax", "ebx", "ecx", "edx", "esi", "edi"};
        const u32 vals[6] = {x->r.eax, x->r.ebx, x->r.ecx, x->r.edx, x->r.esi, x->r.edi};
        char line[128];
        unsigned n = 0;
        for (int k = 0; k < 6; k++) {
            if (!(c[i].show & (1u << k)))
                continue;
            u32 v = vals[k] & c[i].mask;
            line[n++] = ' ';
            for (const char *s = names[k]; *s; s++)
                line[n++] = *s;
            line[n++] = '=';
            for (int d = 7; d >= 0; d--)
                line[n++] = "0123456789abcdef"[(v >> (4 * d)) & 15];
        }
        line[n] = 0;
        tcase("%s:%s", label, line);
    }
}

static void run_ring3(const char *ring, const struct r3case *cases, unsigned n, u32 eflags)
{
    r3_cases = cases, r3_ncases = n;
    memset(&exit_info, 0, sizeof exit_info);
    memset(cg_info, 0, sizeof cg_info);
    memset(r3_segs, 0, sizeof r3_segs);
    int80_hook = ring3_exit;
    enter_ring3(ring3_main, eflags);
    int80_hook = 0;
    tcase("%s entered by iret: cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x", ring,
          r3_segs[0] & 0xffff, r3_segs[1] & 0xffff, r3_segs[2] & 0xffff, r3_segs[3] & 0xffff,
          r3_segs[4] & 0xffff, r3_segs[5] & 0xffff);
    report_r3(ring, cases, n);
    tcase("%s int 0x80: handler cs=%04x ss=%04x frame at esp0%+d: cs=%04x ss=%04x esp=top%+d "
          "eflags&3200=%04x eip=%s",
          ring, exit_info.cs, exit_info.ss, (int)(exit_info.frame_at - RING0_TOP),
          exit_info.frame_cs, exit_info.frame_ss, (int)(exit_info.frame_esp - RING3_TOP),
          exit_info.frame_eflags & 0x3200, exit_info.eip_ok ? "after int" : "WRONG");
}

void test_privilege(void)
{
    run_ring3("ring3", iopl0_cases, sizeof iopl0_cases / sizeof iopl0_cases[0], 0x0002);
    /* cg_info: cs ss esp eip cs param param esp ss */
    tcase("call gate: in ring 0 cs=%04x ss=%04x esp=esp0%+d frame: cs=%04x p=%08x,%08x ss=%04x",
          cg_info[0] & 0xffff, cg_info[1] & 0xffff, (int)(cg_info[2] - RING0_TOP),
          cg_info[4] & 0xffff, cg_info[5], cg_info[6], cg_info[8] & 0xffff);
    run_ring3("ring3 iopl3", iopl3_cases, sizeof iopl3_cases / sizeof iopl3_cases[0], 0x3002);
}
