/* misc.c - the flag consumers (SETcc, Jcc short and near, CMOVcc with register and memory
 * sources) over every combination of CF PF ZF SF OF; LAHF/SAHF; CLC STC CMC CLD STD; MOVZX
 * MOVSX; XCHG; CMPXCHG, CMPXCHG8B and XADD; CBW CWDE CWD CDQ; XLAT; MOV with moffs and
 * immediates; multi-byte NOP. None of these but SAHF, CMPXCHG(8B) and XADD write flags. */
#include "cputest.h"

extern u32 alu_mem;
static u32 outbuf[48];

#define CCS(X)                                                                               \
    X(o, 0) X(no, 1) X(b, 2) X(ae, 3) X(e, 4) X(ne, 5) X(be, 6) X(a, 7) X(s, 8) X(ns, 9)       \
    X(p, 10) X(np, 11) X(l, 12) X(ge, 13) X(le, 14) X(g, 15)

#define SETB(cc, i) "set" #cc " " #i "(%edi); "
SNIP(setcc_all, CCS(SETB) "setb %al; setle %ah; setp %bl; seto %bh");
/* EDI = outbuf, ESI = 0, EBX = 1, EDX = &word 1 */
#define CMOVR(cc, i) "movl %esi, %eax; cmov" #cc "l %ebx, %eax; movl %eax, 4 * " #i "(%edi); "
#define CMOVM(cc, i) "movl %esi, %eax; cmov" #cc "w (%edx), %ax; movl %eax, 64 + 4 * " #i "(%edi); "
SNIP(cmovcc_all, CCS(CMOVR) CCS(CMOVM));
/* ECX collects one bit per taken jump; LEA leaves the flags alone */
#define JS(cc, i) "j" #cc " 1f; jmp 2f; 1: leal 1 << " #i "(%ecx), %ecx; 2: "
#define JN(cc, i) "{disp32} j" #cc " 1f; jmp 2f; 1: leal 1 << " #i "(%edx), %edx; 2: "
SNIP(jcc_all, CCS(JS) CCS(JN));

static u32 collect(int first, int stride)
{
    u32 m = 0;
    for (int i = 0; i < 16; i++)
        if (stride == 1 ? ((u8 *)outbuf)[first + i] : outbuf[first / 4 + i])
            m |= 1u << i;
    return m;
}

static void cond_cases(void)
{
    static const u32 flagbits[5] = {CF, PF, ZF, SF, OF};
    static u16 one = 1;
    for (u32 combo = 0; combo < 32; combo++) {
        u32 fin = 0;
        for (int b = 0; b < 5; b++)
            if (combo & (1u << b))
                fin |= flagbits[b];
        struct regs r = {0};
        memset(outbuf, 0xee, sizeof outbuf);
        r.edi = (u32)outbuf;
        r.eflags = fin;
        run(&r, setcc_all);
        u32 set = collect(0, 1), setreg = r.eax & 0xffff, setreg2 = r.ebx & 0xffff;
        struct regs c = {0};
        c.edi = (u32)outbuf, c.esi = 0, c.ebx = 1, c.edx = (u32)&one, c.eflags = fin;
        run(&c, cmovcc_all);
        u32 cmov = collect(0, 4), cmovw = collect(64, 4);
        struct regs j = {0};
        j.eflags = fin;
        run(&j, jcc_all);
        tcase("cc f=%04x set=%04x setr=%04x,%04x cmov=%04x cmovw=%04x jshort=%04x jnear=%04x "
              "fout=%04x,%04x,%04x",
              fin, set, setreg, setreg2, cmov, cmovw, j.ecx, j.edx, r.eflags & ARITH,
              c.eflags & ARITH, j.eflags & ARITH);
    }
}

SNIP(do_sahf, "sahf");
SNIP(do_lahf, "lahf");
SNIP(flagops, "clc; pushfl; stc; pushfl; cmc; pushfl; cmc; pushfl; std; pushfl; cld; pushfl; "
              "popl %eax; popl %ebx; popl %ecx; popl %edx; popl %esi; popl %edi");

static void flag_cases(void)
{
    static const u32 ahs[] = {0x00, 0xff, 0xd5, 0x2a, 0x41};
    for (unsigned i = 0; i < sizeof ahs / sizeof ahs[0]; i++) {
        struct regs r = {0};
        r.eax = 0x12340000 | ahs[i] << 8 | 0x77;
        r.eflags = i & 1 ? OF : ARITH;
        run(&r, do_sahf);
        tcase("sahf ah=%02x fin=%04x -> f=%04x eax=%08x", ahs[i], i & 1 ? OF : ARITH,
              r.eflags & ARITH, r.eax);
    }
    static const u32 fins[] = {0, ARITH, CF | ZF, SF | AF | PF, OF};
    for (unsigned i = 0; i < sizeof fins / sizeof fins[0]; i++) {
        struct regs r = {0};
        r.eax = 0x12345678;
        r.eflags = fins[i];
        run(&r, do_lahf);
        tcase("lahf fin=%04x -> eax=%08x f=%04x", fins[i], r.eax, r.eflags & ARITH);
    }
    struct regs r = {0};
    r.eflags = ARITH;
    run(&r, flagops);
    /* popped in reverse: edi = after clc ... eax = after cld */
    tcase("clc=%04x stc=%04x cmc=%04x cmc=%04x std=%04x cld=%04x", r.edi & (CF | DF),
          r.esi & (CF | DF), r.edx & (CF | DF), r.ecx & (CF | DF), r.ebx & (CF | DF),
          r.eax & (CF | DF));
}

SNIP(movzx_bl, "movzbl %bl, %eax");
SNIP(movzx_bw, "movzbw %bh, %ax");
SNIP(movzx_wl, "movzwl %bx, %eax");
SNIP(movsx_bl, "movsbl %bl, %eax");
SNIP(movsx_bw, "movsbw %bh, %ax");
SNIP(movsx_wl, "movswl %bx, %eax");
SNIP(movzx_m, "movzbl alu_mem + 1, %eax");
SNIP(movsx_m, "movswl alu_mem + 2, %eax");

static void movx_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
    } ops[] = {{"movzx r32,bl", movzx_bl}, {"movzx r16,bh", movzx_bw}, {"movzx r32,bx", movzx_wl},
               {"movsx r32,bl", movsx_bl}, {"movsx r16,bh", movsx_bw}, {"movsx r32,bx", movsx_wl},
               {"movzx r32,m8+1", movzx_m}, {"movsx r32,m16+2", movsx_m}};
    static const u32 vals[] = {0x00007f7f, 0x00008080, 0xffffffff, 0x7fff7fff, 0x80008000};
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            struct regs r = {0};
            r.eax = 0xa5a5a5a5;
            r.ebx = alu_mem = vals[i];
            r.eflags = i & 1 ? ARITH : 0;
            run(&r, ops[o].fn);
            tcase("%s %08x -> %08x f=%04x", ops[o].name, vals[i], r.eax, r.eflags & ARITH);
        }
}

SNIP(xchgs, "xchgl %ebx, %eax; xchgl %ecx, %edx; xchgb %ah, %bl; xchgw %si, %di; "
            "xchgl %ebp, alu_mem; xchgb alu_mem + 3, %dh; xchgl %eax, %eax");
static u32 q64[2];
SNIP(cx_rr, "cmpxchgl %ebx, %ecx");
SNIP(cx_rb, "cmpxchgb %bl, %cl");
SNIP(cx_mw, "cmpxchgw %bx, alu_mem");
SNIP(cx_ml, "cmpxchgl %ebx, alu_mem");
SNIP(cx8b, "cmpxchg8b q64");
SNIP(xadd_rr, "xaddl %ebx, %eax");
SNIP(xadd_mb, "xaddb %bl, alu_mem");
SNIP(xadd_rw, "xaddw %bx, %ax");
SNIP(xadd_ml, "lock xaddl %ebx, alu_mem");

static void xchg_cases(void)
{
    struct regs r = {0x11111111, 0x22222222, 0x33333333, 0x44444444, 0, 0x55555555, 0x66666666,
                     0x77777777, ARITH};
    alu_mem = 0x88888888;
    run(&r, xchgs);
    tcase("xchg eax=%08x ecx=%08x edx=%08x ebx=%08x ebp=%08x esi=%08x edi=%08x m=%08x f=%04x",
          r.eax, r.ecx, r.edx, r.ebx, r.ebp, r.esi, r.edi, alu_mem, r.eflags & ARITH);

    static const struct {
        const char *name;
        snippet_fn *fn;
        u32 eax, ebx, dest; /* dest is ECX or alu_mem */
    } cx[] = {
        {"cmpxchg32 r eq", cx_rr, 0x12345678, 0xcafebabe, 0x12345678},
        {"cmpxchg32 r ne", cx_rr, 0x12345678, 0xcafebabe, 0x12345679},
        {"cmpxchg8 r eq", cx_rb, 0xaaaaaa80, 0xbbbbbb01, 0xcccccc80},
        {"cmpxchg8 r ne", cx_rb, 0xaaaaaa7f, 0xbbbbbb01, 0xcccccc80},
        {"cmpxchg16 m eq", cx_mw, 0xaaaa8000, 0xbbbb1234, 0xdddd8000},
        {"cmpxchg16 m ne", cx_mw, 0xaaaa0001, 0xbbbb1234, 0xdddd8000},
        {"cmpxchg32 m eq", cx_ml, 0x00000000, 0xffffffff, 0x00000000},
        {"cmpxchg32 m ne", cx_ml, 0x00000000, 0xffffffff, 0x80000000},
        {"xadd32 r", xadd_rr, 0x7fffffff, 0x00000001, 0},
        {"xadd8 m", xadd_mb, 0, 0x000000ff, 0x12345601},
        {"xadd16 r", xadd_rw, 0xaaaa8000, 0xbbbb8000, 0},
        {"lock xadd32 m", xadd_ml, 0, 0x00000010, 0xfffffff0},
    };
    for (unsigned i = 0; i < sizeof cx / sizeof cx[0]; i++) {
        struct regs q = {0};
        q.eax = cx[i].eax, q.ebx = cx[i].ebx, q.ecx = alu_mem = cx[i].dest;
        q.eflags = i & 1 ? ARITH : 0;
        run(&q, cx[i].fn);
        tcase("%s eax=%08x ebx=%08x dest=%08x -> eax=%08x ebx=%08x ecx=%08x m=%08x f=%04x",
              cx[i].name, cx[i].eax, cx[i].ebx, cx[i].dest, q.eax, q.ebx, q.ecx, alu_mem,
              q.eflags & ARITH);
    }
    for (int eq = 0; eq < 2; eq++) {
        struct regs q = {0};
        q64[0] = 0x11112222, q64[1] = 0x33334444;
        q.eax = eq ? 0x11112222 : 0x11112223, q.edx = 0x33334444;
        q.ebx = 0x55556666, q.ecx = 0x77778888;
        q.eflags = eq ? ARITH & ~ZF : ARITH;
        run(&q, cx8b);
        tcase("cmpxchg8b %s -> edx:eax=%08x:%08x m=%08x:%08x f=%04x", eq ? "eq" : "ne", q.edx,
              q.eax, q64[1], q64[0], q.eflags & ARITH);
    }
}

SNIP(do_cbw, "cbtw");
SNIP(do_cwde, "cwtl");
SNIP(do_cwd, "cwtd");
SNIP(do_cdq, "cltd");
SNIP(do_xlat, "xlat");
u32 movbuf[2];
SNIP(movs_moffs, "movl movbuf + 4, %eax; movb %bl, movbuf + 5; movw movbuf + 6, %cx; "
                 "movl $0x12345678, movbuf; movb $0x9a, movbuf + 3; movl movbuf, %edx; "
                 "movw $0xbeef, %si; movl %ebx, %edi; movb $0x11, %bh");
SNIP(nops, "nop; .byte 0x0f, 0x1f, 0x00; .byte 0x0f, 0x1f, 0x44, 0x00, 0x00; "
           ".byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00; xchgw %ax, %ax");

static void conv_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
        u32 eax;
    } cv[] = {{"cbw", do_cbw, 0xaaaa557f},   {"cbw", do_cbw, 0xaaaa5580},
              {"cwde", do_cwde, 0xaaaa7fff}, {"cwde", do_cwde, 0xaaaa8000},
              {"cwd", do_cwd, 0xaaaa7fff},   {"cwd", do_cwd, 0xaaaa8000},
              {"cdq", do_cdq, 0x7fffffff},   {"cdq", do_cdq, 0x80000000}};
    for (unsigned i = 0; i < sizeof cv / sizeof cv[0]; i++) {
        struct regs r = {0};
        r.eax = cv[i].eax, r.edx = 0xdddddddd;
        r.eflags = i & 1 ? ARITH : 0;
        run(&r, cv[i].fn);
        tcase("%s %08x -> edx=%08x eax=%08x f=%04x", cv[i].name, cv[i].eax, r.edx, r.eax,
              r.eflags & ARITH);
    }
    static const u8 table[256] = {[0] = 0x10, [0x7f] = 0x20, [0x80] = 0x30, [0xff] = 0x40};
    static const u32 idx[] = {0xffffff00, 0x1234567f, 0x00000080, 0x000000ff};
    for (int i = 0; i < 4; i++) {
        struct regs r = {0};
        r.eax = idx[i], r.ebx = (u32)table;
        run(&r, do_xlat);
        tcase("xlat eax=%08x -> %08x", idx[i], r.eax);
    }
    struct regs m = {0};
    movbuf[1] = 0xf00dface, m.ebx = 0x00000042, m.esi = 0x12340000;
    run(&m, movs_moffs);
    tcase("mov eax=%08x ecx=%08x edx=%08x ebx=%08x esi=%08x edi=%08x m=%08x,%08x", m.eax, m.ecx,
          m.edx, m.ebx, m.esi, m.edi, movbuf[0], movbuf[1]);
    struct regs n = {1, 2, 3, 4, 0, 5, 6, 7, ARITH};
    run(&n, nops);
    tcase("nops eax=%x ecx=%x edx=%x ebx=%x ebp=%x esi=%x edi=%x esp=%x f=%04x", n.eax, n.ecx,
          n.edx, n.ebx, n.ebp, n.esi, n.edi, n.esp, n.eflags & ARITH);
}

void test_misc(void)
{
    cond_cases();
    flag_cases();
    movx_cases();
    xchg_cases();
    conv_cases();
}
