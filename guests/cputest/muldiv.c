/* muldiv.c - MUL and IMUL (one-, two- and three-operand forms), DIV and IDIV in every size,
 * including #DE from a zero divisor and from a quotient that does not fit, and the BCD
 * adjustments DAA DAS AAA AAS AAM AAD. Defined flags per the SDM: MUL/IMUL only CF and OF;
 * DIV/IDIV none; DAA/DAS all but OF; AAA/AAS only AF and CF; AAM/AAD only SF ZF PF. After a
 * #DE the registers must be unchanged (it is a fault), which the cases print. */
#include "cputest.h"

extern u32 alu_mem;
u32 size_mask(int bits);

SNIP(mul_b, "mulb %bl");
SNIP(mul_w, "mulw %bx");
SNIP(mul_l, "mull %ebx");
SNIP(imul1_b, "imulb %bl");
SNIP(imul1_w, "imulw %bx");
SNIP(imul1_l, "imull %ebx");
SNIP(imul2_w, "imulw %bx, %ax");
SNIP(imul2_l, "imull %ebx, %eax");
SNIP(imul3_w, "imulw $0x7ffd, %bx, %ax");
SNIP(imul3_l, "imull $-3, %ebx, %eax");
SNIP(imul3_li, "imull $0x12345, %ebx, %eax");
SNIP(imul3_wi8, "imulw $100, %bx, %ax");
SNIP(mul_m, "mull alu_mem");
SNIP(imul1_m, "imulb alu_mem");
SNIP(imul2_m, "imull alu_mem, %eax");
SNIP(imul3_m, "imulw $-2, alu_mem, %ax");

static const struct {
    const char *name;
    snippet_fn *fn;
    int bits;
    int mem;   /* the second factor is alu_mem rather than EBX */
    int three; /* three-operand form: EAX is not an input, the immediate is in the name */
} mulops[] = {
    {"mul8", mul_b, 8, 0, 0},           {"mul16", mul_w, 16, 0, 0},
    {"mul32", mul_l, 32, 0, 0},         {"imul8", imul1_b, 8, 0, 0},
    {"imul16", imul1_w, 16, 0, 0},      {"imul32", imul1_l, 32, 0, 0},
    {"imul16 r,r", imul2_w, 16, 0, 0},  {"imul32 r,r", imul2_l, 32, 0, 0},
    {"imul16 r,r,7ffd", imul3_w, 16, 0, 1}, {"imul32 r,r,-3", imul3_l, 32, 0, 1},
    {"imul32 r,r,12345", imul3_li, 32, 0, 1}, {"imul16 r,r,i8 100", imul3_wi8, 16, 0, 1},
    {"mul32 m", mul_m, 32, 1, 0},       {"imul8 m", imul1_m, 8, 1, 0},
    {"imul32 r,m", imul2_m, 32, 1, 0},  {"imul16 r,m,-2", imul3_m, 16, 1, 1},
};

static void mul_cases(void)
{
    static const u32 pairs[][2] = {{0, 0},          {1, 0xffffffff}, {0x7fffffff, 2},
                                   {0x80000000, 0xffffffff}, {0xffffffff, 0xffffffff},
                                   {0x7fffffff, 0x7fffffff}, {0x80000000, 0x80000000},
                                   {0x12345678, 0x9abcdef0}, {0x00000003, 0x00000005}};
    for (unsigned o = 0; o < sizeof mulops / sizeof mulops[0]; o++)
        for (unsigned p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            int bits = mulops[o].bits;
            u32 m = size_mask(bits);
            u32 a = pairs[p][0], b = pairs[p][1];
            if (bits < 32) { /* keep the sign pattern of the 32-bit operands */
                a = (a >> (32 - bits)) | (a & 1);
                b = (b >> (32 - bits)) | (b & 1);
            }
            a &= m, b &= m;
            struct regs r = {0};
            r.eax = a | (0xa5a5a5a5 & ~m);
            r.edx = 0xdddddddd;
            if (mulops[o].mem)
                alu_mem = b | (0x5a5a5a5a & ~m);
            else
                r.ebx = b | (0x5a5a5a5a & ~m);
            r.eflags = p & 1 ? ARITH : 0;
            run(&r, mulops[o].fn);
            if (mulops[o].three)
                a = 0; /* not an input */
            tcase("%s %08x*%08x -> edx=%08x eax=%08x f=%04x", mulops[o].name, a, b, r.edx, r.eax,
                  r.eflags & (CF | OF));
        }
}

SNIP(div_b, "divb %bl");
SNIP(div_w, "divw %bx");
SNIP(div_l, "divl %ebx");
SNIP(idiv_b, "idivb %bl");
SNIP(idiv_w, "idivw %bx");
SNIP(idiv_l, "idivl %ebx");
SNIP(div_m, "divl alu_mem");
SNIP(idiv_m, "idivw alu_mem");

/* dividend is AX (8-bit), DX:AX (16-bit) or EDX:EAX (32-bit) */
static const struct {
    snippet_fn *fn;
    const char *name;
    u32 edx, eax, divisor;
} divs[] = {
    {div_b, "div8", 0, 0x00ff, 0x10},        {div_b, "div8", 0, 0xfeff, 0xff},
    {div_b, "div8", 0, 0x0007, 0x02},        {div_w, "div16", 0x0000, 0xffff, 0x0100},
    {div_w, "div16", 0xfffe, 0xffff, 0xffff}, {div_w, "div16", 0x1234, 0x5678, 0x9abc},
    {div_l, "div32", 0, 0xffffffff, 1},      {div_l, "div32", 0xfffffffe, 0xffffffff, 0xffffffff},
    {div_l, "div32", 0x12345678, 0x9abcdef0, 0x87654321}, {div_l, "div32", 0, 7, 0x10},
    {idiv_b, "idiv8", 0, 0xfff9, 0x02},      {idiv_b, "idiv8", 0, 0x0007, 0xfe},
    {idiv_b, "idiv8", 0, 0xfff9, 0xfe},      {idiv_b, "idiv8", 0, 0xff00, 0x02},
    {idiv_b, "idiv8", 0, 0x007f, 0x01},      {idiv_w, "idiv16", 0xffff, 0x8000, 0x0002},
    {idiv_w, "idiv16", 0x0000, 0x7fff, 0xfffe}, {idiv_w, "idiv16", 0xffff, 0xfffd, 0x0002},
    {idiv_l, "idiv32", 0xffffffff, 0x80000000, 1}, {idiv_l, "idiv32", 0, 0x7fffffff, 0xffffffff},
    {idiv_l, "idiv32", 0xffffffff, 0xfffffff9, 2}, {idiv_l, "idiv32", 0xffffffc0, 0, 0x80000000},
    {idiv_l, "idiv32", 0x0000003f, 0xffffffff, 0x7fffffff},
    {div_m, "div32 m", 0x00000001, 0x00000000, 0x00000003},
    {idiv_m, "idiv16 m", 0xffff, 0x8001, 0xff00},
};

/* cases that raise #DE: the registers afterwards must be the ones before */
static const struct {
    snippet_fn *fn;
    const char *name;
    u32 edx, eax, divisor;
} de_cases[] = {
    {div_b, "div8/0", 0, 0x1234, 0},           {div_w, "div16/0", 0, 0x1234, 0},
    {div_l, "div32/0", 0, 0x1234, 0},          {idiv_b, "idiv8/0", 0, 0x1234, 0},
    {idiv_w, "idiv16/0", 0, 0x1234, 0},        {idiv_l, "idiv32/0", 0, 0x1234, 0},
    {div_b, "div8 ovf", 0, 0x1000, 0x10},      {div_w, "div16 ovf", 0x0001, 0, 1},
    {div_l, "div32 ovf", 1, 0, 1},             {div_l, "div32 ovf2", 0x80000000, 0, 0x80000000},
    {idiv_b, "idiv8 -128/-1", 0, 0xff80, 0xff}, {idiv_b, "idiv8 128/1", 0, 0x0080, 0x01},
    {idiv_w, "idiv16 -32768/-1", 0xffff, 0x8000, 0xffff},
    {idiv_l, "idiv32 min/-1", 0xffffffff, 0x80000000, 0xffffffff},
    {idiv_l, "idiv32 2^31/1", 0, 0x80000000, 1},
    {div_m, "div32 m/0", 0, 5, 0},
};

FSNIP(div_fault, "", "call *%esi"); /* ESI = the division snippet */

static void div_cases(void)
{
    for (unsigned i = 0; i < sizeof divs / sizeof divs[0]; i++) {
        struct regs r = {0};
        r.edx = divs[i].edx;
        r.eax = divs[i].eax;
        r.ebx = alu_mem = divs[i].divisor;
        if (divs[i].fn == div_b || divs[i].fn == idiv_b) /* EDX must be left alone */
            r.edx = 0xdddddddd, r.eax |= 0xaaaa0000;
        else if (divs[i].fn == div_w || divs[i].fn == idiv_w || divs[i].fn == idiv_m)
            r.edx |= 0xdddd0000, r.eax |= 0xaaaa0000;
        u32 edx = r.edx, eax = r.eax;
        run(&r, divs[i].fn);
        tcase("%s %08x:%08x/%08x -> edx=%08x eax=%08x", divs[i].name, edx, eax, divs[i].divisor,
              r.edx, r.eax);
    }
    for (unsigned i = 0; i < sizeof de_cases / sizeof de_cases[0]; i++) {
        struct regs r = {0};
        r.edx = de_cases[i].edx;
        r.eax = de_cases[i].eax;
        r.ebx = alu_mem = de_cases[i].divisor;
        r.esi = (u32)de_cases[i].fn; /* the snippet is called from div_fault: the site is the call */
        fault_clear();
        run(&r, div_fault);
        tcase("%s: %s vec=%02x eip-in-snippet=%s edx=%08x eax=%08x ebx=%08x", de_cases[i].name,
              last_fault.count ? "fault" : "NO FAULT", last_fault.vec,
              last_fault.eip == (u32)de_cases[i].fn ? "start" : "other", r.edx, r.eax, r.ebx);
    }
}

SNIP(do_daa, "daa");
SNIP(do_das, "das");
SNIP(do_aaa, "aaa");
SNIP(do_aas, "aas");
SNIP(do_aam, "aam");
SNIP(do_aam16, "aam $16");
SNIP(do_aad, "aad");
SNIP(do_aad16, "aad $16");
FSNIP(do_aam0, "", "aam $0");

static void bcd_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
        u32 mask;
    } ops[] = {{"daa", do_daa, ARITH & ~OF}, {"das", do_das, ARITH & ~OF},
               {"aaa", do_aaa, AF | CF},     {"aas", do_aas, AF | CF},
               {"aam", do_aam, SF | ZF | PF}, {"aam16", do_aam16, SF | ZF | PF},
               {"aad", do_aad, SF | ZF | PF}, {"aad16", do_aad16, SF | ZF | PF}};
    /* inputs, each run with the flags fin[i & 3]. AAA/AAS (rows 2, 3) skip the last four:
     * whether AAA's AL + 6 carries into AH (AL >= 0xfa) and whether AAS's AL - 6 borrows from
     * AH (AL < 6) differs between processor generations. */
    static const u32 ax[] = {0x0000, 0x0009, 0x000a, 0x009a, 0x0f0f, 0x0199, 0x123f, 0x0050,
                             0x00ff, 0x0003, 0x0099, 0x00a0};
    static const u32 fin[] = {0, AF, CF, AF | CF};
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (unsigned i = 0; i < sizeof ax / sizeof ax[0]; i++) {
            if ((o == 2 || o == 3) && i >= 8)
                continue;
            struct regs r = {0};
            r.eax = 0x5a5a0000 | ax[i];
            r.eflags = fin[i & 3];
            run(&r, ops[o].fn);
            tcase("%s ax=%04x fin=%04x -> eax=%08x f=%04x", ops[o].name, ax[i], fin[i & 3], r.eax,
                  r.eflags & ops[o].mask);
        }
    struct regs r = {0x1234, 0, 0, 0, 0, 0, 0, 0, 0};
    fault_case("aam 0", do_aam0, &r);
}

void test_muldiv(void)
{
    mul_cases();
    div_cases();
    bcd_cases();
}
