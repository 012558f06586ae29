/* shift.c - SHL SHR SAR ROL ROR RCL RCR and SHLD SHRD in 8-, 16- and 32-bit sizes, with the
 * count in CL (0 1 7 8 15 16 31 32 33: counts are masked to 5 bits, so 32 acts as 0 and 33 as
 * 1), as an immediate (C0/C1, including an explicit imm8 of 1) and as the implicit 1 (D0/D1).
 * Defined flags, per the SDM:
 *   masked count 0: no flag changes;
 *   SHL/SHR/SAR: SF ZF PF from the result; CF = last bit out, but undefined for SHL/SHR when
 *     the count is >= the operand size; OF only for a count of 1; AF undefined;
 *   ROL/ROR/RCL/RCR: CF; OF only for a count of 1; SF ZF AF PF always unchanged;
 *   SHLD/SHRD: as SHL, and a count above the operand size (16-bit only) leaves the result
 *     and every flag undefined, so those counts are not run. */
#include "cputest.h"

extern u32 alu_mem;
u32 size_mask(int bits);

enum { SHL, SHR, SAR, ROL, ROR, RCL, RCR };

#define SH3(op)                                                                              \
    SNIP(op##_b, #op "b %cl, %al");                                                          \
    SNIP(op##_w, #op "w %cl, %ax");                                                          \
    SNIP(op##_l, #op "l %cl, %eax")
SH3(shl);
SH3(shr);
SH3(sar);
SH3(rol);
SH3(ror);
SH3(rcl);
SH3(rcr);

/* other forms, per op: D1 (count 1), C1 with imm8 1, C0 imm 9, C1 16-bit imm 17,
 * memory by CL, memory 16-bit D1. n is the ModRM reg field of the group-2 opcode. */
#define SHF(op, n)                                                                           \
    SNIP(op##_f0, #op "l %eax");                                                             \
    SNIP(op##_f1, ".byte 0xc1, 0xc0 + 8 * " #n ", 1");                                      \
    SNIP(op##_f2, #op "b $9, %al");                                                          \
    SNIP(op##_f3, #op "w $17, %ax");                                                         \
    SNIP(op##_f4, #op "l %cl, alu_mem");                                                     \
    SNIP(op##_f5, #op "w alu_mem")
SHF(shl, 4);
SHF(shr, 5);
SHF(sar, 7);
SHF(rol, 0);
SHF(ror, 1);
SHF(rcl, 2);
SHF(rcr, 3);

#define ROW(op) {#op, {op##_b, op##_w, op##_l}, {op##_f0, op##_f1, op##_f2, op##_f3, op##_f4, op##_f5}}
static const struct {
    const char *name;
    snippet_fn *cl[3];
    snippet_fn *form[6];
} ops[] = {ROW(shl), ROW(shr), ROW(sar), ROW(rol), ROW(ror), ROW(rcl), ROW(rcr)};

static const struct {
    const char *text;
    int bits, count, mem;
} forms[6] = {{"d1 eax", 32, 1, 0}, {"c1 eax,1", 32, 1, 0}, {"c0 al,9", 8, 9, 0},
              {"c1 ax,17", 16, 17, 0}, {"m32,cl=4", 32, 4, 1}, {"d1 m16", 16, 1, 1}};

static u32 shift_mask(int op, int bits, u32 count)
{
    u32 c = count & 31;
    if (c == 0)
        return ARITH;
    u32 m;
    if (op <= SAR) {
        m = SF | ZF | PF | CF;
        if (op != SAR && c >= (u32)bits)
            m &= ~CF;
    } else {
        m = SF | ZF | AF | PF | CF;
    }
    if (c == 1)
        m |= OF;
    return m;
}

static const u32 counts[] = {0, 1, 7, 8, 15, 16, 31, 32, 33};
static const int sizes[3] = {8, 16, 32};

static void shift_cases(void)
{
    for (int o = 0; o < 7; o++) {
        for (int s = 0; s < 3; s++)
            for (unsigned c = 0; c < sizeof counts / sizeof counts[0]; c++)
                for (int i = 0; i < 2; i++) {
                    int bits = sizes[s], w = bits / 4;
                    u32 m = size_mask(bits);
                    /* top and bottom bit set, all flags in; or a mixed value, no flags in */
                    u32 v = i ? 0x3c5a96e7 & m : (1u << (bits - 1)) | 1;
                    struct regs r = {0};
                    r.eax = v | (0x55555555 & ~m);
                    r.ecx = counts[c] | 0xff00; /* only CL is the count */
                    r.eflags = i ? 0 : ARITH;
                    run(&r, ops[o].cl[s]);
                    tcase("%s%d %0*x,%u fin=%04x -> %0*x f=%04x%s", ops[o].name, bits, w, v,
                          counts[c], i ? 0 : ARITH, w, r.eax & m,
                          r.eflags & shift_mask(o, bits, counts[c]),
                          (r.eax & ~m) == (0x55555555 & ~m) ? "" : " HIGH-BITS-CHANGED");
                }
        for (int f = 0; f < 6; f++) {
            int bits = forms[f].bits, w = bits / 4;
            u32 m = size_mask(bits);
            struct regs r = {0};
            u32 v = 0xc000a001u & m;
            if (forms[f].mem)
                alu_mem = v | (0x55555555 & ~m);
            else
                r.eax = v | (0x55555555 & ~m);
            r.ecx = forms[f].count;
            r.eflags = f & 1 ? ARITH : 0;
            run(&r, ops[o].form[f]);
            u32 out = forms[f].mem ? alu_mem : r.eax;
            tcase("%s%d %s %0*x fin=%04x -> %08x f=%04x", ops[o].name, bits, forms[f].text, w,
                  v, f & 1 ? ARITH : 0, out, r.eflags & shift_mask(o, bits, (u32)forms[f].count));
        }
    }
}

SNIP(shld_w, "shldw %cl, %bx, %ax");
SNIP(shld_l, "shldl %cl, %ebx, %eax");
SNIP(shrd_w, "shrdw %cl, %bx, %ax");
SNIP(shrd_l, "shrdl %cl, %ebx, %eax");
SNIP(shld_i, "shldl $4, %ebx, %eax");
SNIP(shrd_i, "shrdw $12, %bx, %ax");
SNIP(shld_m, "shldl %cl, %ebx, alu_mem");
SNIP(shrd_m, "shrdl $1, %ebx, alu_mem");

static void double_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn[2];
    } dops[2] = {{"shld", {shld_w, shld_l}}, {"shrd", {shrd_w, shrd_l}}};
    static const u32 in[2][2] = {{0x80000001, 0x12345678}, {0x3c5a96e7, 0xfedcba98}};
    for (int o = 0; o < 2; o++)
        for (int s = 0; s < 2; s++)
            for (unsigned c = 0; c < sizeof counts / sizeof counts[0]; c++) {
                int bits = s ? 32 : 16, w = bits / 4;
                u32 m = size_mask(bits);
                if ((counts[c] & 31) > (u32)bits)
                    continue; /* undefined result and flags */
                for (int i = 0; i < 2; i++) {
                    struct regs r = {0};
                    r.eax = (in[i][0] & m) | (0x55555555 & ~m);
                    r.ebx = in[i][1] & m;
                    r.ecx = counts[c];
                    r.eflags = i ? 0 : ARITH;
                    run(&r, dops[o].fn[s]);
                    tcase("%s%d %0*x,%0*x,%u fin=%04x -> %0*x f=%04x", dops[o].name, bits, w,
                          in[i][0] & m, w, in[i][1] & m, counts[c], i ? 0 : ARITH, w, r.eax & m,
                          r.eflags & shift_mask(SHL, bits, counts[c]));
                }
            }
    struct regs r = {0x80000001, 0, 0, 0xfedcba98, 0, 0, 0, 0, 0};
    run(&r, shld_i);
    tcase("shld32 imm4 80000001,fedcba98 -> %08x f=%04x", r.eax, r.eflags & (SF | ZF | PF | CF));
    struct regs q = {0x1234a5a5, 0, 0, 0x0000c3c3, 0, 0, 0, 0, 0};
    run(&q, shrd_i);
    tcase("shrd16 imm12 a5a5,c3c3 -> %08x f=%04x", q.eax, q.eflags & (SF | ZF | PF | CF));
    alu_mem = 0x0f0f0f0f;
    struct regs t = {0, 24, 0, 0xf0000000, 0, 0, 0, 0, 0};
    run(&t, shld_m);
    tcase("shld32 m,cl=24 0f0f0f0f,f0000000 -> %08x f=%04x", alu_mem, t.eflags & (SF | ZF | PF | CF));
    alu_mem = 0x00000001;
    struct regs u = {0, 0, 0, 0x00000001, 0, 0, 0, 0, 0};
    run(&u, shrd_m);
    tcase("shrd32 m,1 00000001,00000001 -> %08x f=%04x", alu_mem, u.eflags & ARITH & ~AF);
}

void test_shift(void)
{
    shift_cases();
    double_cases();
}
