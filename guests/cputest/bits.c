/* bits.c - BT BTS BTR BTC in register, immediate and memory forms (the memory form with a
 * register offset addresses a bit string: offsets beyond the dword and negative ones reach
 * other dwords), BSF BSR and BSWAP. Defined flags: BTx only CF; BSF/BSR only ZF, and their
 * destination is undefined when the source is 0 (Intel leaves it unchanged in practice, AMD
 * documents that, but the SDM does not promise it), so it is not printed then. */
#include "cputest.h"

u32 bitbuf[16]; /* the bit string's base is bitbuf + 32 bytes: offsets -256..255 */

#define BT4(op, n)                                                                           \
    SNIP(op##_rr, #op "l %ecx, %eax");                                                       \
    SNIP(op##_rrw, #op "w %cx, %ax");                                                        \
    SNIP(op##_ri, #op "l $3, %eax");                                                         \
    SNIP(op##_ri35, ".byte 0x0f, 0xba, 0xc0 + 8 * " #n ", 35");                              \
    SNIP(op##_riw, #op "w $15, %ax");                                                        \
    SNIP(op##_mr, #op "l %ecx, bitbuf + 32");                                               \
    SNIP(op##_mrw, #op "w %cx, bitbuf + 32");                                               \
    SNIP(op##_mi, ".byte 0x0f, 0xba, 0x05 + 8 * " #n "; .long bitbuf + 32; .byte 35")
BT4(bt, 4);
BT4(bts, 5);
BT4(btr, 6);
BT4(btc, 7);

#define ROW(op) {#op, {op##_rr, op##_rrw, op##_ri, op##_ri35, op##_riw, op##_mr, op##_mrw, op##_mi}}
static const struct {
    const char *name;
    snippet_fn *fn[8];
} btops[4] = {ROW(bt), ROW(bts), ROW(btr), ROW(btc)};
static const char *const form_names[8] = {"r32,r", "r16,r", "r32,3", "r32,35", "r16,15",
                                          "m32,r", "m16,r", "m32,35"};

static void bt_cases(void)
{
    static const int offsets[] = {0, 5, 31, 32, 100, -1, -33, -200};
    for (int o = 0; o < 4; o++)
        for (int f = 0; f < 8; f++)
            for (unsigned i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
                if ((f == 2 || f == 3 || f == 4 || f == 7) && i > 1)
                    break; /* immediate forms: the offset register is not used */
                struct regs r = {0};
                r.eax = 0x5a5aa5a5;
                r.ecx = (u32)offsets[i];
                r.eflags = i & 1 ? ARITH : 0;
                for (int k = 0; k < 16; k++)
                    bitbuf[k] = 0x0f0f0f0f * (u32)(k + 1);
                run(&r, btops[o].fn[f]);
                int changed = -1;
                for (int k = 0; k < 16; k++)
                    if (bitbuf[k] != 0x0f0f0f0f * (u32)(k + 1))
                        changed = k;
                if (f < 5)
                    tcase("%s %s off=%d -> eax=%08x cf=%d", btops[o].name, form_names[f], offsets[i],
                          r.eax, r.eflags & CF);
                else if (changed < 0)
                    tcase("%s %s off=%d -> unchanged cf=%d", btops[o].name, form_names[f],
                          offsets[i], r.eflags & CF);
                else /* dword index relative to the bit string's base */
                    tcase("%s %s off=%d -> dword[%d]=%08x cf=%d", btops[o].name, form_names[f],
                          offsets[i], changed - 8, bitbuf[changed], r.eflags & CF);
            }
}

SNIP(bsf_l, "bsfl %ebx, %eax");
SNIP(bsr_l, "bsrl %ebx, %eax");
SNIP(bsf_w, "bsfw %bx, %ax");
SNIP(bsr_w, "bsrw %bx, %ax");
SNIP(bsf_m, "bsfl bitbuf, %eax");
SNIP(bsr_m, "bsrw bitbuf, %ax");

static void bsf_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
        int bits, mem;
    } ops[] = {{"bsf32", bsf_l, 32, 0}, {"bsr32", bsr_l, 32, 0}, {"bsf16", bsf_w, 16, 0},
               {"bsr16", bsr_w, 16, 0}, {"bsf32 m", bsf_m, 32, 1}, {"bsr16 m", bsr_m, 16, 1}};
    static const u32 vals[] = {0, 1, 0x80000000, 0x000000f0, 0x12345678, 0xffffffff, 0x00008000,
                               0x00010000};
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            struct regs r = {0};
            r.eax = 0xeeeeeeee;
            r.ebx = bitbuf[0] = vals[i];
            r.eflags = i & 1 ? 0 : ARITH;
            run(&r, ops[o].fn);
            u32 src = ops[o].bits == 16 ? vals[i] & 0xffff : vals[i];
            if (src == 0)
                tcase("%s %08x -> (undefined) f=%04x", ops[o].name, vals[i], r.eflags & ZF);
            else
                tcase("%s %08x -> %08x f=%04x", ops[o].name, vals[i], r.eax, r.eflags & ZF);
        }
}

SNIP(bswaps, "bswap %eax; bswap %ecx; bswap %edx; bswap %ebx; bswap %ebp; bswap %esi; "
             "bswap %edi");

static void bswap_cases(void)
{
    struct regs r = {0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00, 0, 0x01020304, 0x80000001,
                     0xa5a5a5a5, ARITH};
    run(&r, bswaps);
    tcase("bswap eax=%08x ecx=%08x edx=%08x ebx=%08x ebp=%08x esi=%08x edi=%08x f=%04x", r.eax,
          r.ecx, r.edx, r.ebx, r.ebp, r.esi, r.edi, r.eflags & ARITH);
}

void test_bits(void)
{
    bt_cases();
    bsf_cases();
    bswap_cases();
}
