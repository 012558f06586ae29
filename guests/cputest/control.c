/* control.c - the stack and control transfers: ENTER (nesting levels 0-2) and LEAVE, PUSHA/
 * POPA (32- and 16-bit), PUSHF/POPF (which bits stick, 16-bit forms), PUSH/POP corner cases
 * (PUSH ESP pushes the old value, POP ESP, POP to an ESP-relative address), LOOP/LOOPE/LOOPNE
 * /JECXZ/JCXZ including the 0x67 CX forms, near CALL/JMP/RET direct and indirect, RET imm16,
 * jump tables, and far JMP/CALL/RET/IRET through the test's own GDT (selector 0x50 is a second
 * flat ring-0 code segment). Stack addresses are printed relative to ESP at the start. */
#include "cputest.h"

u32 ctl_out[16];
u32 fake_frames[8] = {0x10101010, 0x11111111, 0x22222222, 0x33333333,
                      0x44444444, 0x55555555, 0x66666666, 0x77777777};

/* ESI = ESP at entry; EBP = &fake_frames[4] */
#define ENTER_SNIP(name, size, level)                                                        \
    SNIP(name, "movl %esp, %esi; movl $0xeeeeeeee, %eax; movl %eax, -4(%esp); "               \
               "movl %eax, -8(%esp); movl %eax, -12(%esp); movl %eax, -16(%esp); "           \
               "movl %eax, -20(%esp); enter $" #size ", $" #level "; "                       \
               "movl %ebp, ctl_out; movl %esp, ctl_out + 4; movl (%ebp), %eax; "             \
               "movl %eax, ctl_out + 8; movl -4(%ebp), %eax; movl %eax, ctl_out + 12; "      \
               "movl -8(%ebp), %eax; movl %eax, ctl_out + 16; movl -12(%ebp), %eax; "        \
               "movl %eax, ctl_out + 20; leave; movl %esp, ctl_out + 24; movl %ebp, ctl_out + 28")
ENTER_SNIP(enter_0, 16, 0);
ENTER_SNIP(enter_1, 8, 1);
ENTER_SNIP(enter_2, 4, 2);
ENTER_SNIP(enter_3, 0, 3);

/* value -> "s-N" if it points into the stack near ESP0, "f+N" into fake_frames, else hex */
static const char *where(u32 v, u32 esp0, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    int n = 0, d;
    if (v - (esp0 - 256) <= 512) {
        buf[n++] = 's', d = (int)(v - esp0);
    } else if (v - (u32)fake_frames < 64) {
        buf[n++] = 'f', d = (int)(v - (u32)fake_frames);
    } else {
        for (int i = 7; i >= 0; i--)
            buf[n++] = hex[(v >> (4 * i)) & 15];
        buf[n] = 0;
        return buf;
    }
    buf[n++] = d < 0 ? '-' : '+';
    d = d < 0 ? -d : d;
    if (d >= 100)
        buf[n++] = (char)('0' + d / 100);
    if (d >= 10)
        buf[n++] = (char)('0' + d / 10 % 10);
    buf[n++] = (char)('0' + d % 10);
    buf[n] = 0;
    return buf;
}

static void enter_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
    } ops[] = {{"enter 16,0", enter_0}, {"enter 8,1", enter_1}, {"enter 4,2", enter_2},
               {"enter 0,3", enter_3}};
    for (int i = 0; i < 4; i++) {
        struct regs r = {0};
        r.ebp = (u32)&fake_frames[4];
        run(&r, ops[i].fn);
        u32 s0 = r.esi;
        char b[8][12];
        tcase("%s: ebp=%s esp=%s [ebp]=%s [ebp-4]=%s [ebp-8]=%s [ebp-12]=%s leave: esp=%s ebp=%s",
              ops[i].name, where(ctl_out[0], s0, b[0]), where(ctl_out[1], s0, b[1]),
              where(ctl_out[2], s0, b[2]), where(ctl_out[3], s0, b[3]),
              where(ctl_out[4], s0, b[4]), where(ctl_out[5], s0, b[5]),
              where(ctl_out[6], s0, b[6]), where(ctl_out[7], s0, b[7]));
    }
}

/* PUSHA, copy the frame out, scramble the registers, POPA (which skips the ESP slot) */
SNIP(pusha_popa, "movl %esp, ctl_out + 32; pushal; "
                 "movl 0(%esp), %eax; movl %eax, ctl_out; movl 4(%esp), %eax; movl %eax, ctl_out + 4; "
                 "movl 8(%esp), %eax; movl %eax, ctl_out + 8; movl 12(%esp), %eax; movl %eax, ctl_out + 12; "
                 "movl 16(%esp), %eax; movl %eax, ctl_out + 16; movl 20(%esp), %eax; movl %eax, ctl_out + 20; "
                 "movl 24(%esp), %eax; movl %eax, ctl_out + 24; movl 28(%esp), %eax; movl %eax, ctl_out + 28; "
                 "xorl %eax, %eax; xorl %ecx, %ecx; xorl %edx, %edx; xorl %ebx, %ebx; xorl %ebp, %ebp; "
                 "xorl %esi, %esi; xorl %edi, %edi; movl $0xdeadbeef, 12(%esp); popal");
SNIP(pushaw_popaw, "movl %esp, ctl_out + 32; pushaw; "
                   "movl 0(%esp), %eax; movl %eax, ctl_out; movl 4(%esp), %eax; movl %eax, ctl_out + 4; "
                   "movl 8(%esp), %eax; movl %eax, ctl_out + 8; movl 12(%esp), %eax; movl %eax, ctl_out + 12; "
                   "movl $0xffffffff, %eax; movl %eax, %ecx; movl %eax, %edx; movl %eax, %ebx; "
                   "movl %eax, %esi; movl %eax, %edi; movw $0x1234, 6(%esp); popaw");

static void pusha_cases(void)
{
    struct regs r = {0xaaaa0001, 0xcccc0002, 0xdddd0003, 0xbbbb0004, 0, 0x5555005, 0x66660006,
                     0x77770007, ARITH};
    run(&r, pusha_popa);
    char b[12];
    tcase("pusha: edi=%08x esi=%08x ebp=%08x esp=%s ebx=%08x edx=%08x ecx=%08x eax=%08x", ctl_out[0],
          ctl_out[1], ctl_out[2], where(ctl_out[3], ctl_out[8], b), ctl_out[4], ctl_out[5],
          ctl_out[6], ctl_out[7]);
    tcase("popa: eax=%08x ecx=%08x edx=%08x ebx=%08x ebp=%08x esi=%08x edi=%08x esp=%x f=%04x",
          r.eax, r.ecx, r.edx, r.ebx, r.ebp, r.esi, r.edi, r.esp, r.eflags & ARITH);
    struct regs q = r;
    run(&q, pushaw_popaw);
    tcase("pushaw: di=%04x si=%04x bp=%04x sp=%s bx=%04x dx=%04x cx=%04x ax=%04x",
          ctl_out[0] & 0xffff, ctl_out[0] >> 16, ctl_out[1] & 0xffff,
          ctl_out[1] >> 16 == (ctl_out[8] & 0xffff) ? "old sp" : "WRONG", ctl_out[2] & 0xffff,
          ctl_out[2] >> 16, ctl_out[3] & 0xffff, ctl_out[3] >> 16);
    tcase("popaw: eax=%08x ecx=%08x edx=%08x ebx=%08x ebp=%08x esi=%08x edi=%08x esp=%x", q.eax,
          q.ecx, q.edx, q.ebx, q.ebp, q.esi, q.edi, q.esp);
}

/* POPF from ring 0: everything but TF, IF, VM, RF and the reserved bits may be set. IF stays
 * clear (nothing here wants interrupts); IOPL and NT are put back to 0 before returning. */
SNIP(popf_bits, "pushl $0; popfl; pushfl; popl %eax; "
                "pushl $0xffff8cff & ~0x300; popfl; pushfl; popl %ecx; "
                "pushl $0x7cd7; popfl; pushfw; popw %dx; "
                "pushw $0x0001; popfw; pushfl; popl %ebx; "
                "pushl $2; popfl");
static void popf_cases(void)
{
    struct regs r = {0};
    run(&r, popf_bits);
    /* bits 0-14 are architectural on every IA-32 CPU; AC and ID (18, 21) are not printed */
    tcase("popf 0 -> %04x; popf ffff8cff-IF-TF -> %04x; pushfw after 7cd7 -> %04x; popfw 0001 -> "
          "%04x",
          r.eax & 0x7fff, r.ecx & 0x7fff, r.edx & 0xffff, r.ebx & 0x7fff);
}

SNIP(push_esp, "movl %esp, %esi; pushl %esp; popl %eax; subl %esi, %eax; "
               "pushl $0x11111111; pushl %esp; popl %ecx; subl %esp, %ecx; "
               "pushl $0x22222222; pushl $0x33333333; popl 4(%esp); popl %ebx; "
               "movl %esp, %edi; pushl %edi; popl %esp; subl %esp, %edi; "
               "pushw $0x4444; popw %bp; pushl $-2; popl %esi; pushl $0x7f; addl $4, %esp; "
               "popl %edx"); /* the 0x11111111 slot, overwritten by popl 4(%esp) */
static void push_cases(void)
{
    struct regs r = {0};
    run(&r, push_esp);
    tcase("push esp: pushed-esp=%+d again=%+d pop 4(esp): next=%08x slot=%08x "
          "pop esp: %+d bp=%04x push -2=%08x esp=%x",
          (int)r.eax, (int)r.ecx, r.ebx, r.edx, (int)r.edi, r.ebp & 0xffff, r.esi, r.esp);
}

/* LOOPs: EAX counts iterations */
SNIP(loop_plain, "xorl %eax, %eax; 1: incl %eax; loop 1b");
SNIP(loop_e, "xorl %eax, %eax; 1: incl %eax; testl $4, %eax; loope 1b");
SNIP(loop_ne, "xorl %eax, %eax; 1: incl %eax; cmpl $3, %eax; loopne 1b");
SNIP(loop_16, "xorl %eax, %eax; 1: incl %eax; addr16 loop 1b");
SNIP(jecxz_t, "xorl %eax, %eax; jecxz 1f; incl %eax; 1: incl %eax");
SNIP(jcxz_t, "xorl %eax, %eax; addr16 jecxz 1f; incl %eax; 1: incl %eax");
SNIP(loop_flags, "xorl %eax, %eax; 1: incl %eax; cmpl $100, %eax; loop 1b"); /* flags from CMP */

static void loop_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
        u32 ecx;
    } ls[] = {{"loop", loop_plain, 5},         {"loop", loop_plain, 1},
              {"loope", loop_e, 10},           {"loope", loop_e, 2},
              {"loopne", loop_ne, 10},         {"loopne", loop_ne, 2},
              {"addr16 loop", loop_16, 0x10003}, {"jecxz", jecxz_t, 0},
              {"jecxz", jecxz_t, 0x10000},     {"addr16 jcxz", jcxz_t, 0x10000},
              {"addr16 jcxz", jcxz_t, 0x10001}, {"loop flags", loop_flags, 3}};
    for (unsigned i = 0; i < sizeof ls / sizeof ls[0]; i++) {
        struct regs r = {0};
        r.ecx = ls[i].ecx;
        r.eflags = ARITH;
        run(&r, ls[i].fn);
        tcase("%s ecx=%x -> eax=%u ecx=%08x f=%04x", ls[i].name, ls[i].ecx, r.eax, r.ecx,
              r.eflags & ARITH);
    }
}

/* near transfers; ctl_target adds 0x100 to EAX and returns */
void ctl_target(void);
void ctl_target8(void);
__asm__(".pushsection .text\nctl_target: addl $0x100, %eax; ret\n"
        "ctl_target8: movl 4(%esp), %ebx; addl 8(%esp), %ebx; ret $8\n"
        "ctl_farfn: movl %cs, %edx; movl 4(%esp), %edi; lret\n"
        "ctl_farfn4: movl %cs, %edx; movl 8(%esp), %edi; lret $4\n.popsection");
u32 ctl_ptr = (u32)ctl_target;
struct __attribute__((packed)) {
    u32 off;
    u16 sel;
} ctl_far;

SNIP(near_calls, "xorl %eax, %eax; call ctl_target; call 1f; 1: popl %ecx; subl $1b, %ecx; "
                 "movl $ctl_target, %edx; call *%edx; call *ctl_ptr; leal ctl_ptr, %ebx; call *(%ebx); "
                 "pushl $5; pushl $7; call ctl_target8; "
                 "movl $2f, %edx; jmp *%edx; incl %eax; 2: jmp *3f; incl %eax; 3: .long 4f; "
                 "4: movl $2, %esi; jmp *ctl_table(,%esi,4); incl %eax; "
                 "incl %eax; ctl_jt2: addl $0x10, %eax; jmp 7f; .skip 200, 0xcc; 7: ");
__asm__(".pushsection .data\n.balign 4\nctl_table: .long 0, 0, ctl_jt2, 0\n.popsection");
static void near_cases(void)
{
    struct regs r = {0};
    run(&r, near_calls);
    tcase("near call/jmp: eax=%08x call-next-pop=%u ebx=%u esp=%x", r.eax, r.ecx, r.ebx, r.esp);
}

SNIP(far_calls, "lcall $0x50, $ctl_farfn; movl %edx, %eax; movl %edi, %ecx; "
                "ljmp $0x50, $1f; 1: movl %cs, %ebx; ljmp $0x08, $2f; 2: movl %cs, %esi; "
                "movl $ctl_farfn4, ctl_far; movw $0x50, ctl_far + 4; pushl $0x99; lcall *ctl_far; "
                "movl $3f, ctl_far; movw $0x08, ctl_far + 4; ljmp *ctl_far; 3: "
                "pushfl; pushl %cs; pushl $4f; iretl; 4: pushl $0x50; pushl $5f; lret; "
                "5: movl %cs, %ebp; ljmp $0x08, $6f; 6: ");
static void far_cases(void)
{
    struct regs r = {0};
    r.eflags = CF | ZF;
    run(&r, far_calls);
    tcase("far: lcall cs=%04x pushed-cs=%04x ljmp cs=%04x back=%04x lcall m16:32 cs=%04x "
          "param=%04x lret-to cs=%04x esp=%x f=%04x",
          r.eax & 0xffff, r.ecx & 0xffff, r.ebx & 0xffff, r.esi & 0xffff, r.edx & 0xffff,
          r.edi & 0xffff, r.ebp & 0xffff, r.esp, r.eflags & ARITH);
}

void test_control(void)
{
    enter_cases();
    pusha_cases();
    push_cases();
    loop_cases();
    near_cases();
}

/* the cases that need ring 0 and the test's own GDT */
void test_control_system(void)
{
    popf_cases();
    far_cases();
}
