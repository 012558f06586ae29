/* access.c - who may read and write what: basic translation, CR0.WP at CPL 0, user and
 * supervisor pages from CPL 3 (with the PDE's U/S and R/W combining with the PTE's), the
 * accessed and dirty bits the CPU writes into the entries, and the #PF error codes. */
#include "paging.h"

#define B1 (TEST_VA + 0x00000)
#define B2 (TEST_VA + 0x01000)
#define RO_SUP (TEST_VA + 0x30000)  /* P        */
#define RO_USER (TEST_VA + 0x31000) /* P|U      */
#define RW_USER (TEST_VA + 0x40000) /* P|W|U    */
#define SUP (TEST_VA + 0x41000)     /* P|W      */
#define ABSENT (TEST_VA + 0x42000)  /* not present */
#define CODE_SUP (TEST_VA + 0x43000) /* P|W, holds code_blob */
#define AD (TEST_VA + 0x50000)

static u32 ustack(void) { return (u32)user_stack_top; }
static u32 uread(u32 va) { return user_call(probe_read, va, 0, ustack()); }
static void uwrite(u32 va, u32 v) { user_call(probe_write, va, v, ustack()); }

void test_basic(void)
{
    u32 f = frame_alloc();
    fill_frame(f, 0x1000);
    map_page(kpd, B1, f, PTE_P | PTE_W);
    map_page(kpd, B2, f, PTE_P | PTE_W);
    tcase("basic: 40000008 on a frame filled with 1000+i reads %08x", probe_read(B1 + 8));
    probe_write(B1 + 0x10, 0x0badcafe);
    tcase("basic: two pages on one frame: written through one, the other reads %08x",
          probe_read(B2 + 0x10));
    pf_clear();
    u32 v = probe_read(TEST_VA + 0x3ff000); /* the page table has no entry there */
    tcase("basic: read of an absent PTE -> %s (%08x)", pf_where((u32)probe_read_at), v);
    pf_clear();
    probe_read(0x30000000); /* no page table at all */
    tcase("basic: read of an absent PDE -> %s", pf_where((u32)probe_read_at));
    pf_clear();
    probe_write(0x30000ffc, 1);
    tcase("basic: write of an absent PDE -> %s", pf_where((u32)probe_write_at));
}

void test_wp(void)
{
    u32 f = frame_alloc();
    fill_frame(f, 0x3000);
    map_page(kpd, RO_SUP, f, PTE_P);
    map_page(kpd, RO_USER, f, PTE_P | PTE_U);

    pf_clear();
    probe_write(RO_SUP, 1);
    tcase("wp: CR0.WP=1, ring-0 write to a read-only supervisor page -> %s", pf_where((u32)probe_write_at));
    pf_clear();
    probe_write(RO_USER + 4, 1);
    tcase("wp: CR0.WP=1, ring-0 write to a read-only user page -> %s", pf_where((u32)probe_write_at));

    write_cr0(read_cr0() & ~CR0_WP);
    pf_clear();
    probe_write(RO_SUP + 8, 0x11);
    tcase("wp: CR0.WP=0, ring-0 write to a read-only supervisor page -> %s; reads %08x, PTE D=%u",
          pf_where((u32)probe_write_at), probe_read(RO_SUP + 8), (get_pte(kpd, RO_SUP) & PTE_D) != 0);
    pf_clear();
    probe_write(RO_USER + 12, 0x22);
    tcase("wp: CR0.WP=0, ring-0 write to a read-only user page -> %s; reads %08x",
          pf_where((u32)probe_write_at), probe_read(RO_USER + 12));
    pf_clear();
    uwrite(RO_USER + 16, 0x33);
    tcase("wp: CR0.WP=0, ring-3 write to a read-only user page -> %s", pf_where((u32)probe_write_at));

    /* the page was written (and so cached writable) under WP=0; WP=1 applies at once */
    write_cr0(read_cr0() | CR0_WP);
    pf_clear();
    probe_write(RO_SUP + 8, 0x44);
    tcase("wp: back to CR0.WP=1, ring-0 write to the same page -> %s; reads %08x",
          pf_where((u32)probe_write_at), probe_read(RO_SUP + 8));
}

void test_user(void)
{
    u32 f = frame_alloc();
    fill_frame(f, 0x4000);
    map_page(kpd, RW_USER, f, PTE_P | PTE_W | PTE_U);
    map_page(kpd, SUP, f, PTE_P | PTE_W);
    set_pte(kpd, ABSENT, 0);

    pf_clear();
    uwrite(RW_USER + 4, 0x77);
    tcase("user: ring 3, user read/write page: read %08x, wrote 77, reads %08x -> %s",
          uread(RW_USER), uread(RW_USER + 4), pf_where((u32)probe_write_at));
    pf_clear();
    u32 v = uread(RO_USER);
    tcase("user: ring 3, user read-only page: read %08x -> %s", v, pf_where((u32)probe_read_at));
    pf_clear();
    uwrite(RO_USER + 0x20, 1);
    tcase("user: ring 3, write to a user read-only page -> %s", pf_where((u32)probe_write_at));
    pf_clear();
    uread(SUP + 0x24);
    tcase("user: ring 3, read of a supervisor page -> %s", pf_where((u32)probe_read_at));
    pf_clear();
    uwrite(SUP + 0x28, 1);
    tcase("user: ring 3, write to a supervisor page -> %s", pf_where((u32)probe_write_at));
    pf_clear();
    uread(ABSENT + 0x2c);
    tcase("user: ring 3, read of an absent page -> %s", pf_where((u32)probe_read_at));
    pf_clear();
    uwrite(ABSENT + 0x30, 1);
    tcase("user: ring 3, write to an absent page -> %s", pf_where((u32)probe_write_at));
    pf_clear();
    uread(0x30001000);
    tcase("user: ring 3, read under an absent PDE -> %s", pf_where((u32)probe_read_at));
    tcase("user: ring 0 reads the user read-only page %08x and the supervisor page %08x",
          probe_read(RO_USER + 0x40), probe_read(SUP + 0x44));

    /* ring-3 instruction fetches: from a supervisor page, and from an absent one */
    u32 code = frame_alloc();
    memcpy((void *)code, code_blob, (unsigned)(code_blob_end - code_blob));
    map_page(kpd, CODE_SUP, code, PTE_P | PTE_W);
    tcase("user: ring 0 calls code on a supervisor page: returned %08x", probe_call(CODE_SUP));
    pf_clear();
    user_call((void *)(CODE_SUP), 0, 0, ustack());
    tcase("user: ring 3 calls code on a supervisor page -> %s", pf_where(CODE_SUP));
    pf_clear();
    user_call((void *)ABSENT, 0, 0, ustack());
    tcase("user: ring 3 calls code on an absent page -> %s", pf_where(ABSENT));

    /* the PDE's U/S and R/W combine with the PTE's: the stricter wins */
    u32 pde_keep = kpd[PDE_TEST_VA >> 22];
    map_page(kpd, PDE_TEST_VA + 0x5000, f, PTE_P | PTE_W | PTE_U);
    kpd[PDE_TEST_VA >> 22] = (pde_keep & ~0xfffu) | PTE_P | PTE_W; /* PDE: supervisor */
    invlpg(PDE_TEST_VA + 0x5000);
    pf_clear();
    uread(PDE_TEST_VA + 0x5000);
    tcase("user: PDE supervisor, PTE user: ring-3 read -> %s", pf_where((u32)probe_read_at));
    kpd[PDE_TEST_VA >> 22] = (pde_keep & ~0xfffu) | PTE_P | PTE_U; /* PDE: read-only */
    invlpg(PDE_TEST_VA + 0x5000);
    pf_clear();
    v = uread(PDE_TEST_VA + 0x5008);
    tcase("user: PDE read-only, PTE writable: ring-3 read %08x -> %s", v, pf_where((u32)probe_read_at));
    pf_clear();
    uwrite(PDE_TEST_VA + 0x500c, 1);
    tcase("user: PDE read-only, PTE writable: ring-3 write -> %s", pf_where((u32)probe_write_at));
    pf_clear();
    probe_write(PDE_TEST_VA + 0x5010, 1);
    tcase("user: PDE read-only, PTE writable: ring-0 write (CR0.WP=1) -> %s", pf_where((u32)probe_write_at));
    kpd[PDE_TEST_VA >> 22] = pde_keep;
    invlpg(PDE_TEST_VA + 0x5000);
}

/* PTE and PDE A/D bits after an access, the entry cleaned and the page invalidated first. */
static const char *ad(u32 e)
{
    static const char *const names[4] = {"A=0 D=0", "A=1 D=0", "A=0 D=1", "A=1 D=1"};
    return names[((e & PTE_A) ? 1 : 0) | ((e & PTE_D) ? 2 : 0)];
}

static void clean(u32 va, u32 flags, u32 frame)
{
    set_pte(kpd, va, frame | flags);
    kpd[va >> 22] &= ~(PTE_A | PTE_D);
    invlpg(va);
}

void test_accessed_dirty(void)
{
    u32 f = frame_alloc();
    map_page(kpd, AD, f, PTE_P | PTE_W | PTE_U);

    clean(AD, PTE_P | PTE_W | PTE_U, f);
    probe_read(AD);
    tcase("a/d: after a read: PTE %s, PDE %s", ad(get_pte(kpd, AD)), ad(kpd[AD >> 22]));
    probe_write(AD, 5);
    tcase("a/d: then a write: PTE %s, PDE %s", ad(get_pte(kpd, AD)), ad(kpd[AD >> 22]));

    clean(AD, PTE_P | PTE_W | PTE_U, f);
    probe_write(AD + 4, 6);
    tcase("a/d: a write alone: PTE %s", ad(get_pte(kpd, AD)));

    clean(AD, PTE_P | PTE_W | PTE_U | PTE_A, f);
    probe_read(AD + 8);
    probe_read(AD + 12);
    tcase("a/d: A already set, two reads: PTE %s", ad(get_pte(kpd, AD)));

    clean(AD, PTE_P | PTE_W | PTE_U, f);
    uread(AD + 16);
    tcase("a/d: a ring-3 read: PTE %s", ad(get_pte(kpd, AD)));
    uwrite(AD + 20, 7);
    tcase("a/d: a ring-3 write: PTE %s", ad(get_pte(kpd, AD)));

    /* a write that faults writes nothing: D stays clear (A may be set by the walk: not shown) */
    clean(AD, PTE_P | PTE_U, f);
    pf_clear();
    probe_write(AD + 24, 8);
    tcase("a/d: a faulting write (read-only, CR0.WP=1) -> %s: PTE D=%u", pf_where((u32)probe_write_at),
          (get_pte(kpd, AD) & PTE_D) != 0);

    /* with CR0.WP=0 the supervisor's write to a read-only page succeeds and sets D */
    clean(AD, PTE_P | PTE_U, f);
    write_cr0(read_cr0() & ~CR0_WP);
    probe_write(AD + 28, 9);
    write_cr0(read_cr0() | CR0_WP);
    tcase("a/d: ring-0 write to a read-only page with CR0.WP=0: PTE %s", ad(get_pte(kpd, AD)));
    set_pte(kpd, AD, f | PTE_P | PTE_W | PTE_U);
    invlpg(AD);
}

void test_error_codes(void)
{
    char list[40], *p = list;
    for (u32 code = 0; code < 32; code++) {
        if (pf_codes_seen & (1u << code)) {
            if (code >= 10)
                *p++ = (char)('0' + code / 10);
            *p++ = (char)('0' + code % 10);
            *p++ = ' ';
        }
    }
    p[p > list ? -1 : 0] = 0;
    /* 1 (a present page, a supervisor read) is the one combination of P, W/R and U/S that
     * 32-bit paging cannot raise without SMAP or protection keys */
    tcase("error codes: #PF raised with %s over the run", list);
}
