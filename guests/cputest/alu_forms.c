/* alu_forms.c - the other encodings of the ALU group: memory destination and memory source,
 * every immediate form (short EAX/AL forms, 0x80/0x81 imm8/imm16/imm32, 0x83 sign-extended
 * imm8, and the 0x82 alias of 0x80), the high byte registers AH..BH, and all eight register
 * encodings in the ModRM reg and r/m fields. Flags are masked as in alu.c. */
#include "cputest.h"

u32 alu_mem;
u32 edge(int cls, int bits);
u32 size_mask(int bits);

/* memory forms: 0 = mem op= reg, 1 = reg op= mem; per size */
#define MEM6(op)                                                                             \
    SNIP(op##_mb, #op "b %bl, alu_mem");                                                     \
    SNIP(op##_mw, #op "w %bx, alu_mem");                                                     \
    SNIP(op##_ml, #op "l %ebx, alu_mem");                                                    \
    SNIP(op##_rb, #op "b alu_mem, %al");                                                     \
    SNIP(op##_rw, #op "w alu_mem, %ax");                                                     \
    SNIP(op##_rl, #op "l alu_mem, %eax")
/* immediate forms, in the order of imm_forms[] below */
#define IMM(op)                                                                              \
    SNIP(op##_i0, #op "l $0x80000001, %eax");                                                \
    SNIP(op##_i1, #op "l $0x7ffffffe, %ebx");                                                \
    SNIP(op##_i2, #op "l $-1, %ebx");                                                        \
    SNIP(op##_i3, #op "l $0x7f, %ebx");                                                      \
    SNIP(op##_i4, #op "b $0x81, %al");                                                       \
    SNIP(op##_i5, #op "b $0x7f, %bl");                                                       \
    SNIP(op##_i6, #op "w $0x8001, %ax");                                                     \
    SNIP(op##_i7, #op "w $-2, %bx");                                                         \
    SNIP(op##_i8, #op "l $0x80000000, alu_mem");                                             \
    SNIP(op##_i9, #op "l $-128, alu_mem");                                                   \
    SNIP(op##_i10, #op "b $0xff, alu_mem");                                                  \
    SNIP(op##_i11, #op "w $1, alu_mem")
#define FORMS(op) MEM6(op); IMM(op)
FORMS(add);
FORMS(adc);
FORMS(sub);
FORMS(sbb);
FORMS(and);
FORMS(or);
FORMS(xor);
FORMS(cmp);
FORMS(test);
#define UNMEM(op)                                                                            \
    SNIP(op##_um8, #op "b alu_mem");                                                         \
    SNIP(op##_um16, #op "w alu_mem");                                                        \
    SNIP(op##_um32, #op "l alu_mem")
UNMEM(inc);
UNMEM(dec);
UNMEM(neg);
UNMEM(not);

#define ROW(op, m)                                                                           \
    {#op, m, {op##_mb, op##_mw, op##_ml, op##_rb, op##_rw, op##_rl},                        \
     {op##_i0, op##_i1, op##_i2, op##_i3, op##_i4, op##_i5, op##_i6, op##_i7, op##_i8,     \
      op##_i9, op##_i10, op##_i11}}
static const struct {
    const char *name;
    u32 mask;
    snippet_fn *mem[6];
    snippet_fn *imm[12];
} ops[] = {ROW(add, ARITH), ROW(adc, ARITH), ROW(sub, ARITH), ROW(sbb, ARITH), ROW(and, LOGIC),
           ROW(or, LOGIC),  ROW(xor, LOGIC), ROW(cmp, ARITH), ROW(test, LOGIC)};

/* where each immediate form operates: 0 = EAX, 1 = EBX, 2 = alu_mem */
static const struct {
    const char *text;
    int bits, where;
} imm_forms[12] = {
    {"eax,i32 80000001", 32, 0}, {"ebx,i32 7ffffffe", 32, 1}, {"ebx,i8 -1", 32, 1},
    {"ebx,i8 7f", 32, 1},        {"al,i8 81", 8, 0},          {"bl,i8 7f", 8, 1},
    {"ax,i16 8001", 16, 0},      {"bx,i8 -2", 16, 1},         {"m32,i32 80000000", 32, 2},
    {"m32,i8 -128", 32, 2},      {"m8,i8 ff", 8, 2},          {"m16,i8 1", 16, 2},
};

static const int sizes[3] = {8, 16, 32};
enum { Z, ONE, MAX, MIN, ALL, R1, R2 };

static void mem_forms(void)
{
    static const u8 pairs[3][2] = {{MAX, ONE}, {ALL, ALL}, {R1, R2}};
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (int f = 0; f < 6; f++)
            for (int p = 0; p < 3; p++) {
                int bits = sizes[f % 3], w = bits / 4;
                u32 m = size_mask(bits);
                u32 a = edge(pairs[p][0], bits), b = edge(pairs[p][1], bits);
                struct regs r = {0};
                r.eflags = p == 1 ? ARITH : 0; /* also CF in for ADC/SBB */
                if (f < 3) { /* memory is the destination: a op= b */
                    alu_mem = a | (0xc3c3c3c3 & ~m);
                    r.ebx = b;
                } else { /* register is the destination */
                    r.eax = a | (0xc3c3c3c3 & ~m);
                    alu_mem = b | (0x3c3c3c3c & ~m);
                }
                run(&r, ops[o].mem[f]);
                u32 out = f < 3 ? alu_mem : r.eax;
                tcase("%s%d %s c=%d %0*x,%0*x -> %08x f=%04x", ops[o].name, bits,
                      f < 3 ? "m,r" : "r,m", p == 1, w, a, w, b, out, r.eflags & ops[o].mask);
            }
}

static void imm_cases(void)
{
    static const u8 inputs[2] = {MAX, R2};
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (int f = 0; f < 12; f++)
            for (int i = 0; i < 2; i++) {
                int bits = imm_forms[f].bits, where = imm_forms[f].where;
                u32 fill = 0x69696969 & ~size_mask(bits);
                u32 v = edge(inputs[i], bits) | fill;
                struct regs r = {0};
                r.eflags = i ? ARITH : 0;
                if (where == 0)
                    r.eax = v;
                else if (where == 1)
                    r.ebx = v;
                else
                    alu_mem = v;
                run(&r, ops[o].imm[f]);
                u32 out = where == 0 ? r.eax : where == 1 ? r.ebx : alu_mem;
                tcase("%s%d %s c=%d %08x -> %08x f=%04x", ops[o].name, bits, imm_forms[f].text, i,
                      v, out, r.eflags & ops[o].mask);
            }
}

static void unary_mem(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn[3];
    } un[] = {{"inc", {inc_um8, inc_um16, inc_um32}}, {"dec", {dec_um8, dec_um16, dec_um32}},
              {"neg", {neg_um8, neg_um16, neg_um32}}, {"not", {not_um8, not_um16, not_um32}}};
    static const u8 inputs[2] = {ALL, MIN};
    for (int o = 0; o < 4; o++)
        for (int s = 0; s < 3; s++)
            for (int i = 0; i < 2; i++) {
                int bits = sizes[s];
                struct regs r = {0};
                r.eflags = i ? ARITH : 0;
                alu_mem = edge(inputs[i], bits) | (0x96969696 & ~size_mask(bits));
                u32 in = alu_mem;
                run(&r, un[o].fn[s]);
                tcase("%s%d m %08x c=%d -> %08x f=%04x", un[o].name, bits, in, i, alu_mem,
                      r.eflags & ARITH);
            }
}

/* High byte registers: AH CH DH BH are encodings 4-7 of the 8-bit registers */
SNIP(hibyte, "addb %ah, %bh; subb %ch, %dl; xorb %dh, %cl; adcb %bl, %ah; "
             "orb %al, %ch; andb %bh, %dh; cmpb %ah, %bh");
/* Each register once in the reg field and once in the r/m field, including ESP and EBP */
SNIP(allregs, "pushl %ebp; movl %esp, %ebp; subl $0x100, %esp; "
              "addl %eax, %ecx; addl %ecx, %edx; addl %edx, %ebx; addl %ebx, %esi; "
              "addl %esi, %edi; subl %edi, %eax; subl %esp, %eax; addl %ebp, %eax; "
              "addl %eax, %esp; subl %eax, %esp; movl %ebp, %esp; subl %esp, %ebp; "
              "addl %ebp, %ecx; popl %ebp");
/* Reversed-direction encodings (0x02 vs 0x00 etc.), which gas uses only when told */
SNIP(revdir, ".byte 0x03, 0xc3; .byte 0x2b, 0xcb; .byte 0x33, 0xd1; .byte 0x0b, 0xf2; "
             ".byte 0x22, 0xc7; .byte 0x12, 0xe3");
/* 0x82 is an alias of 0x80 in 32-bit code: add, or, adc, sbb, and, sub, xor, cmp on BL */
SNIP(op82, ".byte 0x82, 0xc3, 0x11; .byte 0x82, 0xcb, 0x80; .byte 0x82, 0xd3, 0x3c; "
           ".byte 0x82, 0xdb, 0x01; .byte 0x82, 0xe3, 0xf7; .byte 0x82, 0xeb, 0x05; "
           ".byte 0x82, 0xf3, 0xaa; pushfl; popl %ecx; .byte 0x82, 0xfb, 0x40");

static void dump(const char *name, struct regs *r, u32 mask)
{
    tcase("%s eax=%08x ecx=%08x edx=%08x ebx=%08x esi=%08x edi=%08x ebp=%x esp=%x f=%04x",
          name, r->eax, r->ecx, r->edx, r->ebx, r->esi, r->edi, r->ebp, r->esp,
          r->eflags & mask);
}

static void reg_encodings(void)
{
    struct regs r = {0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00, 0, 0, 0x13579bdf,
                     0x2468ace0, 0};
    run(&r, hibyte);
    dump("hibyte", &r, ARITH);
    struct regs q = {0x01000000, 0x00020000, 0x00000300, 0x00000004, 0, 0x5000, 0x00600000,
                     0x07000000, 0};
    run(&q, allregs);
    dump("allregs", &q, ARITH);
    struct regs d = {0x80000000, 0x7fffffff, 0x0f0f0f0f, 0x80000001, 0, 0, 0x00ff00ff,
                     0, CF};
    run(&d, revdir);
    dump("revdir", &d, ARITH);
    struct regs e = {0, 0, 0, 0x000000f0, 0, 0, 0, 0, CF};
    run(&e, op82);
    tcase("op82 bl=%02x f=%04x mid-f=%04x", e.ebx & 0xff, e.eflags & ARITH, e.ecx & ARITH);
}

void test_alu_forms(void)
{
    mem_forms();
    imm_cases();
    unary_mem();
    reg_encodings();
}
