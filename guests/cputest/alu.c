/* alu.c - ADD ADC SUB SBB AND OR XOR CMP TEST and INC DEC NEG NOT, register forms, in 8-, 16-
 * and 32-bit sizes over edge operands (0, 1, 0x7f.., 0x80.., 0xff.. and a mixed pair).
 * Every status flag is defined for these except AF after AND/OR/XOR/TEST (masked). Input
 * flags alternate between all-clear and all-set so flags an instruction must leave alone
 * (CF for INC/DEC, all for NOT) are seen to be left alone. */
#include "cputest.h"

#define ALU3(op)                                                                             \
    SNIP(op##_b, #op "b %bl, %al");                                                          \
    SNIP(op##_w, #op "w %bx, %ax");                                                          \
    SNIP(op##_l, #op "l %ebx, %eax")
ALU3(add);
ALU3(adc);
ALU3(sub);
ALU3(sbb);
ALU3(and);
ALU3(or);
ALU3(xor);
ALU3(cmp);
ALU3(test);

#define UN3(op)                                                                              \
    SNIP(op##_b, #op "b %al");                                                               \
    SNIP(op##_w, #op "w %ax");                                                               \
    SNIP(op##_l, #op "l %eax")
UN3(inc);
UN3(dec);
UN3(neg);
UN3(not);

struct op {
    const char *name;
    snippet_fn *fn[3]; /* 8, 16, 32 bits */
    u32 mask;          /* flags the SDM defines afterwards */
    int carry_in;      /* run with CF = 0 and CF = 1 */
};

static const struct op binops[] = {
    {"add", {add_b, add_w, add_l}, ARITH, 0}, {"adc", {adc_b, adc_w, adc_l}, ARITH, 1},
    {"sub", {sub_b, sub_w, sub_l}, ARITH, 0}, {"sbb", {sbb_b, sbb_w, sbb_l}, ARITH, 1},
    {"and", {and_b, and_w, and_l}, LOGIC, 0}, {"or", {or_b, or_w, or_l}, LOGIC, 0},
    {"xor", {xor_b, xor_w, xor_l}, LOGIC, 0}, {"cmp", {cmp_b, cmp_w, cmp_l}, ARITH, 0},
    {"test", {test_b, test_w, test_l}, LOGIC, 0},
};

static const struct op unops[] = {
    {"inc", {inc_b, inc_w, inc_l}, ARITH, 0},
    {"dec", {dec_b, dec_w, dec_l}, ARITH, 0},
    {"neg", {neg_b, neg_w, neg_l}, ARITH, 0},
    {"not", {not_b, not_w, not_l}, ARITH, 0},
};

/* Edge operands by class, truncated to the operand size */
enum { Z, ONE, MAX, MIN, ALL, R1, R2 };
u32 edge(int cls, int bits)
{
    u32 top = 1u << (bits - 1);
    u32 all = top | (top - 1);
    switch (cls) {
    case Z:
        return 0;
    case ONE:
        return 1;
    case MAX:
        return top - 1;
    case MIN:
        return top;
    case ALL:
        return all;
    case R1:
        return 0x12345678 & all;
    default:
        return 0x9abcdef0 & all;
    }
}

static const u8 pairs[][2] = {{Z, Z},     {Z, ONE},  {ONE, ONE}, {MAX, ONE}, {MIN, ONE},
                              {MIN, ALL}, {ALL, ONE}, {ALL, ALL}, {MAX, MAX}, {MIN, MIN},
                              {MAX, ALL}, {ONE, ALL}, {R1, R2}};
static const u8 singles[] = {Z, ONE, MAX, MIN, ALL, R2};
static const int sizes[3] = {8, 16, 32};

u32 size_mask(int bits) { return bits == 32 ? 0xffffffffu : (1u << bits) - 1; }

static void binop_case(const struct op *op, int si, u32 a, u32 b, u32 fin)
{
    int bits = sizes[si], w = bits / 4;
    struct regs r = {0};
    r.eax = a | (0xa5a5a5a5 & ~size_mask(bits)); /* bits above the operand must survive */
    r.ebx = b | (0x5a5a5a5a & ~size_mask(bits));
    r.eflags = fin;
    run(&r, op->fn[si]);
    u32 hi = r.eax & ~size_mask(bits);
    tcase("%s%d %s%0*x,%0*x -> %0*x f=%04x%s", op->name, bits, op->carry_in ? (fin & CF ? "c=1 " : "c=0 ") : "",
          w, a, w, b, w, r.eax & size_mask(bits), r.eflags & op->mask,
          hi == (0xa5a5a5a5 & ~size_mask(bits)) ? "" : " HIGH-BITS-CHANGED");
}

static void unop_case(const struct op *op, int si, u32 a, u32 fin)
{
    int bits = sizes[si], w = bits / 4;
    struct regs r = {0};
    r.eax = a | (0xa5a5a5a5 & ~size_mask(bits));
    r.eflags = fin;
    run(&r, op->fn[si]);
    tcase("%s%d %0*x fin=%04x -> %0*x f=%04x", op->name, bits, w, a, fin & ARITH, w,
          r.eax & size_mask(bits), r.eflags & op->mask);
}

void test_alu(void)
{
    for (unsigned o = 0; o < sizeof binops / sizeof binops[0]; o++)
        for (int si = 0; si < 3; si++)
            for (unsigned p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
                u32 a = edge(pairs[p][0], sizes[si]), b = edge(pairs[p][1], sizes[si]);
                u32 fin = p & 1 ? ARITH : 0;
                if (!binops[o].carry_in) {
                    binop_case(&binops[o], si, a, b, fin);
                } else {
                    binop_case(&binops[o], si, a, b, fin & ~CF);
                    binop_case(&binops[o], si, a, b, fin | CF);
                }
            }
    for (unsigned o = 0; o < sizeof unops / sizeof unops[0]; o++)
        for (int si = 0; si < 3; si++)
            for (unsigned i = 0; i < sizeof singles; i++)
                unop_case(&unops[o], si, edge(singles[i], sizes[si]), i & 1 ? ARITH : 0);
}
