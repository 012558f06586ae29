/* addr.c - effective addresses: LEA with every 32-bit ModRM/SIB shape (disp32 alone, base,
 * disp8 and disp32, SIB with scales 1/2/4/8, no base, no index, EBP and ESP bases), wrap-around
 * at 4 GiB, LEA with a 16-bit destination (0x66), every 16-bit addressing form via the 0x67
 * prefix (which wraps at 64 KiB and is zero-extended), and a few other 0x66 operand-size
 * forms. (Segment overrides and based segments are in segments.c.) */
#include "cputest.h"

/* EBX = base, ESI = index; the result is in EAX */
SNIP(lea0, "leal 0x12345678, %eax");
SNIP(lea1, "leal (%ebx), %eax");
SNIP(lea2, "leal 0x7f(%ebx), %eax");
SNIP(lea3, "leal -0x80(%ebx), %eax");
SNIP(lea4, "leal 0x1000(%ebx), %eax");
SNIP(lea5, "leal (%ebx,%esi), %eax");
SNIP(lea6, "leal (%ebx,%esi,2), %eax");
SNIP(lea7, "leal (%ebx,%esi,4), %eax");
SNIP(lea8, "leal (%ebx,%esi,8), %eax");
SNIP(lea9, "leal -8(%ebx,%esi,4), %eax");
SNIP(lea10, "leal 0x12345678(%ebx,%esi,8), %eax");
SNIP(lea11, "leal 0x1000(,%esi,4), %eax");
SNIP(lea12, "pushl %ebp; movl %ebx, %ebp; leal (%ebp), %eax; popl %ebp");
SNIP(lea13, "pushl %ebp; movl %ebx, %ebp; leal 8(%ebp,%esi,2), %eax; popl %ebp");
/* EAX - ESP computed with NOT and LEA, which leave the flags alone */
#define MINUS_ESP "; movl %esp, %ecx; notl %ecx; leal 1(%eax,%ecx), %eax"
SNIP(lea14, "leal 12(%esp), %eax" MINUS_ESP);
SNIP(lea15, "leal 4(%esp,%esi,2), %eax" MINUS_ESP);
SNIP(lea16, ".byte 0x8d, 0x44, 0xa3, 0x05"); /* 5(%ebx, no index * 4): scale ignored */
SNIP(lea17, ".byte 0x8d, 0x04, 0x25; .long 0x00abcdef"); /* SIB, no base, no index */
SNIP(lea18, "leaw 0x10(%ebx,%esi), %ax");
SNIP(lea19, "leal (%esi,%esi,4), %eax");
SNIP(lea20, ".byte 0x8d, 0x84, 0x5b; .long 0x80000000"); /* disp32(%ebx,%ebx,2) */

static const char *const lea_names[] = {
    "disp32", "base", "base+d8", "base-d8", "base+d32", "b+i", "b+i*2", "b+i*4", "b+i*8",
    "b+i*4-8", "b+i*8+d32", "i*4+d32", "(ebp)", "ebp+i*2+8", "esp+12", "esp+i*2+4",
    "b+noindex*4+5", "sib-d32-only", "16bit-dest", "i+i*4", "b+b*2+80000000"};
static snippet_fn *const leas[] = {lea0,  lea1,  lea2,  lea3,  lea4,  lea5,  lea6,
                                   lea7,  lea8,  lea9,  lea10, lea11, lea12, lea13,
                                   lea14, lea15, lea16, lea17, lea18, lea19, lea20};

/* 16-bit addressing (0x67): EBX, ESI, EDI, EBP hold the inputs, the result is in EAX */
SNIP(a16_0, "pushl %ebp; movl %edx, %ebp; addr16 leal (%bx,%si), %eax; popl %ebp");
SNIP(a16_1, "addr16 leal 4(%bx,%di), %eax");
SNIP(a16_2, "pushl %ebp; movl %edx, %ebp; addr16 leal -2(%bp,%si), %eax; popl %ebp");
SNIP(a16_3, "pushl %ebp; movl %edx, %ebp; addr16 leal 0x1234(%bp,%di), %eax; popl %ebp");
SNIP(a16_4, "addr16 leal (%si), %eax");
SNIP(a16_5, "addr16 leal 0x7f(%di), %eax");
SNIP(a16_6, ".byte 0x67, 0x8d, 0x06, 0xcd, 0xab"); /* disp16 alone: mod 00, r/m 110 */
SNIP(a16_7, "addr16 leal 0xfff0(%bx), %eax");
SNIP(a16_8, "pushl %ebp; movl %edx, %ebp; addr16 leal (%bp), %eax; popl %ebp");
SNIP(a16_9, "addr16 leaw -1(%bx,%si), %ax");
static const char *const a16_names[] = {"bx+si", "bx+di+4", "bp+si-2", "bp+di+1234", "si",
                                        "di+7f", "d16 abcd", "bx+fff0", "bp", "bx+si-1 16bit-dest"};
static snippet_fn *const a16s[] = {a16_0, a16_1, a16_2, a16_3, a16_4,
                                   a16_5, a16_6, a16_7, a16_8, a16_9};

static void lea_cases(void)
{
    static const u32 in[3][2] = {{0x00001000, 0x00000010}, {0xfffffff8, 0x40000001},
                                 {0x80000000, 0xffffffff}};
    for (unsigned i = 0; i < sizeof leas / sizeof leas[0]; i++)
        for (int k = 0; k < 3; k++) {
            struct regs r = {0};
            r.eax = 0xaaaaaaaa;
            r.ebx = in[k][0];
            r.esi = in[k][1];
            r.eflags = k == 1 ? ARITH : 0;
            run(&r, leas[i]);
            tcase("lea %s b=%08x i=%08x -> %08x f=%04x", lea_names[i], in[k][0], in[k][1], r.eax,
                  r.eflags & ARITH);
        }
    /* bx, si, di, bp */
    static const u32 in16[2][4] = {{0x1234fff0, 0x55550020, 0x6666ffff, 0x77770001},
                                   {0x00000100, 0x00000023, 0x00000042, 0x00008000}};
    for (unsigned i = 0; i < sizeof a16s / sizeof a16s[0]; i++)
        for (int k = 0; k < 2; k++) {
            struct regs r = {0};
            r.eax = 0xaaaaaaaa;
            r.ebx = in16[k][0], r.esi = in16[k][1], r.edi = in16[k][2], r.edx = in16[k][3];
            run(&r, a16s[i]);
            tcase("lea16 %s bx=%04x si=%04x di=%04x bp=%04x -> %08x", a16_names[i],
                  in16[k][0] & 0xffff, in16[k][1] & 0xffff, in16[k][2] & 0xffff,
                  in16[k][3] & 0xffff, r.eax);
        }
}

/* Operand-size prefix forms: 16-bit immediates, push/pop of words, INC/DEC short forms */
SNIP(opsize, "movw $0x1234, %ax; movw $-1, %cx; incw %ax; decw %cx; addw $0x7fff, %ax; "
             "pushw %ax; pushw $0x5678; popl %edx; pushl $0x9abcdef0; popw %bx; popw %si; "
             "xchgw %ax, %di; negw %di; .byte 0x66, 0x66, 0x40");
static void opsize_cases(void)
{
    struct regs r = {0xaaaaaaaa, 0xcccccccc, 0xdddddddd, 0xbbbbbbbb, 0, 0, 0x55555555,
                     0x66666666, 0};
    run(&r, opsize);
    tcase("opsize eax=%08x ecx=%08x edx=%08x ebx=%08x esi=%08x edi=%08x esp=%x f=%04x", r.eax,
          r.ecx, r.edx, r.ebx, r.esi, r.edi, r.esp, r.eflags & ARITH);
}

void test_addr(void)
{
    lea_cases();
    opsize_cases();
}
