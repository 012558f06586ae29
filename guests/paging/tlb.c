/* tlb.c - when a changed paging entry takes effect: after INVLPG of the page, after a CR3
 * load (which also drops the non-global entries of the old address space), immediately for a
 * not-present entry made present (SDM 4.10.4.3: no TLB entry is ever made from a not-present
 * one), through the directory mapped into itself, and for global pages: kept across CR3 loads,
 * dropped by INVLPG and by clearing CR4.PGE. Each case reads only after the invalidation. */
#include "paging.h"

#define V (TEST_VA + 0x20000)
#define V2 (TEST_VA + 0x21000)

static u32 frame_a, frame_b, frame_c;

static void remap(u32 *pd, u32 va, u32 frame) { set_pte(pd, va, frame | PTE_P | PTE_W); }

void test_tlb(void)
{
    frame_a = frame_alloc();
    frame_b = frame_alloc();
    frame_c = frame_alloc();
    fill_frame(frame_a, 0xaaaa0000);
    fill_frame(frame_b, 0xbbbb0000);
    fill_frame(frame_c, 0xcccc0000);

    map_page(kpd, V, frame_a, PTE_P | PTE_W);
    u32 first = probe_read(V);
    remap(kpd, V, frame_b);
    invlpg(V);
    tcase("invlpg: V on frame A reads %08x; remapped to B, INVLPG: reads %08x", first, probe_read(V + 4));

    pf_clear();
    set_pte(kpd, V, 0);
    invlpg(V);
    probe_read(V);
    tcase("invlpg: V unmapped, INVLPG, read -> %s", pf_where((u32)probe_read_at));

    pf_clear();
    remap(kpd, V, frame_a); /* no INVLPG */
    u32 v = probe_read(V + 8);
    tcase("tlb: a not-present entry made present needs no INVLPG: read %08x -> %s", v,
          pf_where((u32)probe_read_at));

    probe_write(V, 0xaaaa0000); /* cached writable (and dirty) */
    set_pte(kpd, V, frame_a | PTE_P);
    invlpg(V);
    pf_clear();
    probe_write(V, 1);
    tcase("invlpg: V made read-only, INVLPG, write -> %s", pf_where((u32)probe_write_at));

    /* a PDE change: the whole 4 MiB region moves to another page table */
    map_page(kpd, PDE_TEST_VA, frame_a, PTE_P | PTE_W);
    u32 old_pde = kpd[PDE_TEST_VA >> 22];
    first = probe_read(PDE_TEST_VA + 0x10);
    u32 *other = (u32 *)frame_alloc();
    other[0] = frame_c | PTE_P | PTE_W;
    kpd[PDE_TEST_VA >> 22] = (u32)other | PTE_P | PTE_W | PTE_U;
    invlpg(PDE_TEST_VA);
    tcase("invlpg: PDE for 40400000 pointed at another page table, INVLPG: reads %08x, was %08x",
          probe_read(PDE_TEST_VA + 0x10), first);
    kpd[PDE_TEST_VA >> 22] = old_pde;
    invlpg(PDE_TEST_VA);

    /* CR3 reloaded with the same value: every non-global entry is dropped */
    remap(kpd, V, frame_a);
    invlpg(V);
    first = probe_read(V + 12);
    remap(kpd, V, frame_b);
    write_cr3(read_cr3());
    tcase("cr3: V reads %08x; remapped to B, CR3 reloaded: reads %08x", first, probe_read(V + 12));

    kpd[PDE_TEST_VA >> 22] = (u32)other | PTE_P | PTE_W | PTE_U;
    write_cr3(read_cr3());
    tcase("cr3: PDE for 40400000 changed, CR3 reloaded: reads %08x", probe_read(PDE_TEST_VA + 0x14));
    kpd[PDE_TEST_VA >> 22] = old_pde;
    write_cr3(read_cr3());

    /* two address spaces: V is frame A in kpd and frame C in kpd2; V2 only exists in kpd */
    remap(kpd, V, frame_a);
    map_page(kpd, V2, frame_b, PTE_P | PTE_W);
    invlpg(V);
    map_page(kpd2, V, frame_c, PTE_P | PTE_W);
    u32 in_kpd = probe_read(V), in_kpd_v2 = probe_read(V2); /* both now cached */
    write_cr3((u32)kpd2);
    u32 in_kpd2 = probe_read(V);
    pf_clear();
    probe_read(V2);
    const char *v2_in_kpd2 = pf_where((u32)probe_read_at);
    tcase("cr3: V reads %08x in kpd, %08x in kpd2; V2 (%08x in kpd) in kpd2 -> %s", in_kpd,
          in_kpd2, in_kpd_v2, v2_in_kpd2);
    write_cr3((u32)kpd);
    tcase("cr3: back in kpd: V reads %08x, V2 reads %08x", probe_read(V), probe_read(V2));

    /* kpd's tables changed while kpd2 runs (as a kernel edits another process's mappings):
     * the PTE is read first, then written; the change shows when kpd is loaded again */
    write_cr3((u32)kpd2);
    u32 old_pte = get_pte(kpd, V);
    set_pte(kpd, V, frame_b | PTE_P | PTE_W);
    write_cr3((u32)kpd);
    tcase("cr3: V's PTE read and changed (A -> B) from kpd2; back in kpd V reads %08x, PTE was %s",
          probe_read(V + 24), (old_pte & ~0x60u) == (frame_a | PTE_P | PTE_W) ? "A" : "WRONG");
    remap(kpd, V, frame_a);
    invlpg(V);

    /* the directory as its own page table: PTEs at SELF_VA + 4 * page number, PDEs in the
     * last page (A and D masked: the CPU may set them in a PDE used as a PTE) */
    u32 *self_pte = (u32 *)(SELF_VA + (V >> 12) * 4);
    u32 *self_pde = (u32 *)(SELF_VA + 0x3ff000 + (V >> 22) * 4);
    tcase("self-map: PTE of V through the self-map %s the PTE; PDE of V %s the PDE",
          (*self_pte & ~0x60u) == (get_pte(kpd, V) & ~0x60u) ? "matches" : "DIFFERS FROM",
          (*self_pde & ~0x60u) == (kpd[V >> 22] & ~0x60u) ? "matches" : "DIFFERS FROM");
    *self_pte = frame_c | PTE_P | PTE_W;
    invlpg(V);
    tcase("self-map: V remapped to C through the self-map, INVLPG: reads %08x; PTE %s", probe_read(V + 16),
          (get_pte(kpd, V) & ~0x60u) == (frame_c | PTE_P | PTE_W) ? "updated" : "NOT UPDATED");
    *self_pte = frame_a | PTE_P | PTE_W;
    write_cr3(read_cr3());
    tcase("self-map: V remapped to A through the self-map, CR3 reloaded: reads %08x", probe_read(V + 20));
}

/* ---- Global pages ------------------------------------------------------------------------- */
void test_global(void)
{
    u32 g1 = frame_alloc(), g2 = frame_alloc();
    fill_frame(g1, 0x61000000);
    fill_frame(g2, 0x62000000);
    write_cr4(read_cr4() | CR4_PGE);
    map_page(kpd, GLOBAL_VA, g1, PTE_P | PTE_W | PTE_G); /* kpd2 shares this page table */

    u32 a = probe_read(GLOBAL_VA);
    write_cr3((u32)kpd2);
    u32 b = probe_read(GLOBAL_VA);
    probe_write(GLOBAL_VA + 4, 0x600dd00d);
    write_cr3((u32)kpd);
    tcase("global: G reads %08x in kpd, %08x in kpd2; written in kpd2, kpd reads %08x", a, b,
          probe_read(GLOBAL_VA + 4));

    u32 ok = 0;
    for (u32 i = 0; i < 16; i++) {
        write_cr3(i & 1 ? (u32)kpd2 : (u32)kpd);
        ok += probe_read(GLOBAL_VA + 8 * i) == 0x61000000 + 2 * i;
    }
    write_cr3((u32)kpd);
    tcase("global: 16 CR3 loads alternating kpd/kpd2, G read right %u times", ok);

    set_pte(kpd, GLOBAL_VA, g2 | PTE_P | PTE_W | PTE_G);
    invlpg(GLOBAL_VA);
    tcase("global: G remapped, INVLPG: reads %08x", probe_read(GLOBAL_VA + 12));

    set_pte(kpd, GLOBAL_VA, g1 | PTE_P | PTE_W | PTE_G);
    write_cr4(read_cr4() & ~CR4_PGE); /* changing CR4.PGE flushes global entries too */
    write_cr4(read_cr4() | CR4_PGE);
    tcase("global: G remapped, CR4.PGE 1->0->1: reads %08x", probe_read(GLOBAL_VA + 16));

    /* a global page that is not global in its PTE is simply a page of each address space */
    map_page(kpd, GLOBAL_VA + 0x1000, g2, PTE_P | PTE_W);
    u32 before = probe_read(GLOBAL_VA + 0x1000);
    set_pte(kpd, GLOBAL_VA + 0x1000, g1 | PTE_P | PTE_W);
    write_cr3((u32)kpd);
    tcase("global: a non-global page in the shared table reads %08x, remapped + CR3 load: %08x",
          before, probe_read(GLOBAL_VA + 0x1000));
    write_cr4(read_cr4() & ~CR4_PGE);
}
