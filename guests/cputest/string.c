/* string.c - MOVS STOS LODS CMPS SCAS in byte, word and dword sizes, alone and with REP, REPE
 * and REPNE, forwards (CLD) and backwards (STD), a zero count, and 16-bit addressing (0x67:
 * SI, DI and CX, wrapping at 64 KiB) with a segment override on the source. Each case prints
 * the final ESI/EDI (relative to the buffers), ECX, EAX, a checksum of the destination buffer
 * and, for CMPS/SCAS, the flags (all defined, as for CMP; unchanged when the count is 0). */
#include "cputest.h"

u8 str_src[128], str_dst[128];

SNIP(rep_movsb, "rep movsb");
SNIP(rep_movsw, "rep movsw");
SNIP(rep_movsl, "rep movsl");
SNIP(one_movsb, "movsb");
SNIP(one_movsl, "movsl");
SNIP(rep_stosb, "rep stosb");
SNIP(rep_stosw, "rep stosw");
SNIP(rep_stosl, "rep stosl");
SNIP(one_stosw, "stosw");
SNIP(one_lodsb, "lodsb");
SNIP(rep_lodsw, "rep lodsw");
SNIP(one_lodsl, "lodsl");
SNIP(repe_cmpsb, "repe cmpsb");
SNIP(repne_cmpsb, "repne cmpsb");
SNIP(repe_cmpsw, "repe cmpsw");
SNIP(repe_cmpsl, "repe cmpsl");
SNIP(one_cmpsb, "cmpsb");
SNIP(repne_scasb, "repne scasb");
SNIP(repe_scasb, "repe scasb");
SNIP(repne_scasw, "repne scasw");
SNIP(repne_scasl, "repne scasl");
SNIP(one_scasb, "scasb");
SNIP(fs_movsl, "movl $0x68, %eax; movl %eax, %fs; rep movsl %fs:(%esi), %es:(%edi); "
               "movl $0x10, %eax; movl %eax, %fs");

enum { PLAIN, CMPEQ, CMPNE, OVERLAP }; /* OVERLAP: ESI points into the destination too */
static const struct {
    const char *name;
    snippet_fn *fn;
    int back, src_off, dst_off;
    u32 ecx, eax;
    int setup, flags;
} cases[] = {
    {"rep movsb", rep_movsb, 0, 0, 3, 13, 0, PLAIN, 0},
    {"rep movsb", rep_movsb, 1, 40, 50, 13, 0, PLAIN, 0},
    {"rep movsb", rep_movsb, 0, 0, 0, 0, 0, PLAIN, 0},
    {"rep movsw", rep_movsw, 0, 1, 0, 7, 0, PLAIN, 0},
    {"rep movsw", rep_movsw, 1, 62, 62, 7, 0, PLAIN, 0},
    {"rep movsl", rep_movsl, 0, 4, 8, 9, 0, PLAIN, 0},
    {"rep movsl", rep_movsl, 1, 60, 64, 9, 0, PLAIN, 0},
    {"rep movsl overlap", rep_movsl, 0, 0, 4, 6, 0, OVERLAP, 0},
    {"rep movsb overlap", rep_movsb, 1, 20, 17, 6, 0, OVERLAP, 0},
    {"movsb", one_movsb, 0, 5, 6, 3, 0, PLAIN, 0},
    {"movsl", one_movsl, 1, 8, 16, 3, 0, PLAIN, 0},
    {"rep stosb", rep_stosb, 0, 0, 1, 11, 0x12345678, PLAIN, 0},
    {"rep stosb", rep_stosb, 1, 0, 20, 11, 0x9abcdef0, PLAIN, 0},
    {"rep stosw", rep_stosw, 0, 0, 2, 10, 0x1234abcd, PLAIN, 0},
    {"rep stosw", rep_stosw, 1, 0, 30, 10, 0x1234abcd, PLAIN, 0},
    {"rep stosl", rep_stosl, 0, 0, 0, 32, 0xdeadbeef, PLAIN, 0},
    {"rep stosl", rep_stosl, 1, 0, 124, 5, 0xcafef00d, PLAIN, 0},
    {"rep stosl", rep_stosl, 0, 0, 0, 0, 0xcafef00d, PLAIN, 0},
    {"stosw", one_stosw, 1, 0, 9, 5, 0x00005a5a, PLAIN, 0},
    {"lodsb", one_lodsb, 0, 7, 0, 5, 0xffffffff, PLAIN, 0},
    {"rep lodsw", rep_lodsw, 0, 3, 0, 5, 0xffffffff, PLAIN, 0},
    {"rep lodsw", rep_lodsw, 1, 33, 0, 5, 0xffffffff, PLAIN, 0},
    {"lodsl", one_lodsl, 1, 12, 0, 5, 0, PLAIN, 0},
    {"repe cmpsb", repe_cmpsb, 0, 0, 0, 20, 0, CMPEQ, 1},
    {"repe cmpsb", repe_cmpsb, 1, 19, 19, 20, 0, CMPEQ, 1},
    {"repe cmpsb", repe_cmpsb, 0, 0, 0, 5, 0, CMPEQ, 1},
    {"repe cmpsb", repe_cmpsb, 0, 0, 0, 0, 0, CMPEQ, 1},
    {"repne cmpsb", repne_cmpsb, 0, 0, 0, 20, 0, CMPNE, 1},
    {"repne cmpsb", repne_cmpsb, 1, 19, 19, 20, 0, CMPNE, 1},
    {"repne cmpsb", repne_cmpsb, 0, 8, 8, 20, 0, CMPNE, 1},
    {"repe cmpsw", repe_cmpsw, 0, 0, 0, 20, 0, CMPEQ, 1},
    {"repe cmpsl", repe_cmpsl, 0, 0, 0, 20, 0, CMPEQ, 1},
    {"repe cmpsl", repe_cmpsl, 1, 60, 60, 20, 0, CMPEQ, 1},
    {"cmpsb", one_cmpsb, 0, 6, 7, 9, 0, CMPEQ, 1},
    {"repne scasb", repne_scasb, 0, 0, 0, 64, 0x1f, PLAIN, 1},
    {"repne scasb", repne_scasb, 1, 0, 63, 64, 0x1f, PLAIN, 1},
    {"repne scasb", repne_scasb, 0, 0, 0, 10, 0x1f, PLAIN, 1},
    {"repe scasb", repe_scasb, 0, 0, 0, 64, 0x0f0f0f0f, PLAIN, 1},
    {"repne scasw", repne_scasw, 0, 0, 0, 30, 0x1e1e, PLAIN, 1},
    {"repne scasl", repne_scasl, 0, 0, 0, 30, 0x24232221, PLAIN, 1},
    {"scasb", one_scasb, 1, 0, 0, 3, 0xff, PLAIN, 1},
};

static void setup(int kind)
{
    for (int i = 0; i < 128; i++) {
        str_src[i] = (u8)(i * 3 + 1);
        str_dst[i] = kind == PLAIN ? (u8)(i < 64 ? 0x0f : i) : str_src[i];
        if (kind == OVERLAP)
            str_dst[i] = (u8)(i + 0x40);
    }
    if (kind == CMPEQ) /* equal except bytes 5 and 13 */
        str_dst[5] ^= 0x80, str_dst[13] ^= 0x01;
    if (kind == CMPNE) /* different except byte 11 and bytes 16-17 */
        for (int i = 0; i < 128; i++)
            if (i != 11 && i != 16 && i != 17)
                str_dst[i] = (u8)~str_src[i];
    for (int i = 0; i < 0x40; i++)
        seg_area[i] = (u8)(0xa0 + i);
    str_dst[31] = 0x1f, str_dst[30] = 0x1e, str_dst[40] = 0x1e;
    *(u32 *)&str_dst[44] = 0x24232221;
}

static u32 checksum(const u8 *p, int n)
{
    u32 s = 0;
    for (int i = 0; i < n; i++)
        s = (s << 5 | s >> 27) ^ p[i];
    return s;
}

static void string_cases(void)
{
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup(cases[i].setup);
        struct regs r = {0};
        u32 src_base = cases[i].setup == OVERLAP ? (u32)str_dst : (u32)str_src;
        r.esi = src_base + (u32)cases[i].src_off;
        r.edi = (u32)str_dst + (u32)cases[i].dst_off;
        r.ecx = cases[i].ecx;
        r.eax = cases[i].eax;
        r.eflags = (cases[i].back ? DF : 0) | (i & 1 ? ARITH : 0);
        run(&r, cases[i].fn);
        tcase("%s %s ecx=%u -> esi=%+d edi=%d ecx=%u eax=%08x dst=%08x f=%04x", cases[i].name,
              cases[i].back ? "std" : "cld", cases[i].ecx, (int)(r.esi - src_base),
              (int)(r.edi - (u32)str_dst), r.ecx, r.eax, checksum(str_dst, 128),
              cases[i].flags ? r.eflags & ARITH : 0);
    }
}

/* 16-bit addressing: DS:SI -> ES:DI with ES = FS = SEL_BASED, counting in CX only */
SNIP(a16_movsb, "movl $0x68, %eax; movl %eax, %es; movl %eax, %fs; "
                ".byte 0x67, 0xf3, 0x64, 0xa4; " /* addr16 rep movsb %fs:(%si), %es:(%di) */
                "movl $0x10, %eax; movl %eax, %es; movl %eax, %fs");
SNIP(a16_stosw, "movl $0x68, %eax; movl %eax, %es; movl $0x1234abcd, %eax; "
                ".byte 0x67, 0xf3, 0x66, 0xab; " /* addr16 rep stosw %ax, %es:(%di) */
                "movl $0x10, %eax; movl %eax, %es");

static void a16_cases(void)
{
    for (int i = 0; i < 0x10; i++)
        seg_area[i] = (u8)(0x10 + i), seg_area[0xfff0 + i] = (u8)(0xf0 + i);
    memset(&seg_area[0x100], 0, 0x20);
    struct regs r = {0};
    r.esi = 0xaaaafffd, r.edi = 0xbbbb0100, r.ecx = 0xcccc0006;
    run(&r, a16_movsb);
    tcase("addr16 rep movsb si=fffd di=0100 cx=6 -> esi=%08x edi=%08x ecx=%08x dst=%08x %08x",
          r.esi, r.edi, r.ecx, *(u32 *)&seg_area[0x100], *(u32 *)&seg_area[0x104]);
    struct regs q = {0};
    q.edi = 0x00000004, q.ecx = 0x00010003, q.eflags = DF; /* DI wraps to fffe, unused */
    run(&q, a16_stosw);
    tcase("addr16 std rep stosw di=0004 cx=3 -> edi=%08x ecx=%08x mem=%08x %08x", q.edi, q.ecx,
          *(u32 *)&seg_area[0], *(u32 *)&seg_area[4]);
}

void test_string(void)
{
    string_cases();
}

/* the cases that need the test's own GDT */
void test_string_segs(void)
{
    setup(PLAIN);
    struct regs r = {0};
    r.esi = 0x20, r.edi = (u32)str_dst + 4, r.ecx = 6;
    run(&r, fs_movsl);
    tcase("rep movsl fs:(esi) esi=20 ecx=6 -> esi=%08x edi=%d ecx=%u dst=%08x", r.esi,
          (int)(r.edi - (u32)str_dst), r.ecx, checksum(str_dst, 128));
    a16_cases();
}
