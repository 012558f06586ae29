/* demand.c - demand paging and copy-on-write: the #PF handler repairs the fault (maps a page,
 * or copies a shared read-only page and maps the copy writable) and the faulting instruction
 * runs again and completes, as an operating system's would. */
#include "paging.h"

/* ---- Demand paging ------------------------------------------------------------------------ */
static u32 demand_cr2[8], demand_faults;
static u32 code_page; /* a demand page that gets code_blob instead of zeros */

/* Not-present faults in the demand region get a fresh zeroed page, user-accessible. No INVLPG:
 * a TLB never holds a not-present entry (SDM 4.10.4.3), so the retry walks the tables. */
static int demand_fix(u32 cr2, u32 err)
{
    if (cr2 - DEMAND_BASE >= 0x01000000u || (err & PF_P))
        return 0;
    u32 frame = frame_alloc();
    if ((cr2 & ~0xfffu) == code_page)
        memcpy((void *)frame, code_blob, (unsigned)(code_blob_end - code_blob));
    map_page(kpd, cr2 & ~0xfffu, frame, PTE_P | PTE_W | PTE_U);
    if (demand_faults < 8)
        demand_cr2[demand_faults] = cr2;
    demand_faults++;
    return 1;
}

static void demand_reset(void)
{
    pf_clear();
    demand_faults = 0;
}

static const u32 stack_marker = 0x12345678;

void test_demand(void)
{
    pf_fix = demand_fix;

    /* the first fault finds no page table either: the PDE is not present */
    demand_reset();
    probe_write(DEMAND_BASE + 0x10, 0x11111111);
    tcase("demand: write 10000010 -> %s, mapped; reads back %08x", pf_where((u32)probe_write_at),
          probe_read(DEMAND_BASE + 0x10));

    demand_reset();
    u32 v = probe_read(DEMAND_BASE + 0x1234);
    tcase("demand: read 10001234 -> %s, zero page mapped; read %08x", pf_where((u32)probe_read_at), v);

    /* REP STOSL over four absent pages: each fault stops the string instruction with ECX and
     * EDI at the faulting element, the retry continues from there */
    demand_reset();
    u32 edi = probe_fill(DEMAND_BASE + 0x2800, 0x5a5a5a5a, 0x3000 / 4);
    u32 bad = 0;
    for (u32 a = DEMAND_BASE + 0x2800; a < DEMAND_BASE + 0x5800; a += 4)
        bad += *(volatile u32 *)a != 0x5a5a5a5a;
    bad += *(volatile u32 *)(DEMAND_BASE + 0x27fc) != 0 || *(volatile u32 *)(DEMAND_BASE + 0x5800) != 0;
    tcase("demand: rep stosl 10002800..100057ff -> %u faults, cr2 %08x %08x %08x %08x, err %02x, "
          "edi=%08x, %u bad words", demand_faults, demand_cr2[0], demand_cr2[1], demand_cr2[2],
          demand_cr2[3], pf_last.err, edi, bad);

    /* an instruction fetch from an absent page: CR2 = EIP = the target */
    demand_reset();
    code_page = DEMAND_BASE + 0x10000;
    v = probe_call(code_page);
    tcase("demand: call 10010000 -> %s, code page mapped; returned %08x", pf_where(code_page), v);

    /* the same from ring 3: U/S set in the error code */
    demand_reset();
    v = user_call(probe_read, DEMAND_BASE + 0x20040, 0, (u32)user_stack_top);
    tcase("demand: ring-3 read 10020040 -> %s; read %08x", pf_where((u32)probe_read_at), v);
    demand_reset();
    user_call(probe_write, DEMAND_BASE + 0x21000, 7, (u32)user_stack_top);
    tcase("demand: ring-3 write 10021000 -> %s; reads back %08x", pf_where((u32)probe_write_at),
          user_call(probe_read, DEMAND_BASE + 0x21000, 0, (u32)user_stack_top));

    /* a ring-3 stack in absent memory: the first PUSH faults, at user_trampoline, on the way
     * into fn; the CPU delivers the #PF on the TSS's ring-0 stack */
    demand_reset();
    v = user_call(probe_read, (u32)&stack_marker, 0xb0b0b0b0, DEMAND_BASE + 0x30000);
    tcase("demand: ring-3 stack at 10030000 -> %s; the call returned %08x, pushed %08x",
          pf_where((u32)user_trampoline), v, *(volatile u32 *)(DEMAND_BASE + 0x2fffc));

    pf_fix = 0;
}

/* ---- Copy-on-write ------------------------------------------------------------------------- */
#define COW_X (TEST_VA + 0x10000)
#define COW_Y (TEST_VA + 0x11000)
static u32 cow_source, cow_copies;

/* A write to a read-only page that shares cow_source: copy, map the copy writable, INVLPG
 * (the read-only entry may be cached). */
static int cow_fix(u32 cr2, u32 err)
{
    u32 page = cr2 & ~0xfffu;
    if ((err & (PF_P | PF_W)) != (PF_P | PF_W) || (page != COW_X && page != COW_Y))
        return 0;
    u32 copy = frame_alloc();
    memcpy((void *)copy, (void *)cow_source, PAGE);
    set_pte(kpd, page, copy | PTE_P | PTE_W | PTE_U);
    invlpg(page);
    cow_copies++;
    return 1;
}

void test_cow(void)
{
    cow_source = frame_alloc();
    fill_frame(cow_source, 0xc0000000);
    map_page(kpd, COW_X, cow_source, PTE_P | PTE_U);
    map_page(kpd, COW_Y, cow_source, PTE_P | PTE_U);
    pf_fix = cow_fix;

    pf_clear();
    u32 before = probe_read(COW_X + 0x100);
    probe_write(COW_X + 0x100, 0xc0c0c0c0);
    tcase("cow: X+100 read %08x; write (CR0.WP=1) -> %s, copied; X+100=%08x X+104=%08x "
          "Y+100=%08x source+100=%08x", before, pf_where((u32)probe_write_at), probe_read(COW_X + 0x100),
          probe_read(COW_X + 0x104), probe_read(COW_Y + 0x100), *(u32 *)(cow_source + 0x100));

    pf_clear();
    user_call(probe_write, COW_Y + 0x200, 0x33, (u32)user_stack_top);
    tcase("cow: ring-3 write Y+200 -> %s, copied; Y+200=%08x X+200=%08x source+200=%08x",
          pf_where((u32)probe_write_at), user_call(probe_read, COW_Y + 0x200, 0, (u32)user_stack_top),
          probe_read(COW_X + 0x200), *(u32 *)(cow_source + 0x200));

    pf_clear();
    user_call(probe_write, COW_Y + 0x204, 0x44, (u32)user_stack_top);
    tcase("cow: a second ring-3 write to the copy -> %s; Y+204=%08x, %u copies made",
          pf_where((u32)probe_write_at), probe_read(COW_Y + 0x204), cow_copies);

    pf_fix = 0;
}
