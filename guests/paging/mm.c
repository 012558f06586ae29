/* mm.c - the paging guest's page tables: a frame pool, two page directories (kpd, and kpd2
 * for the address-space cases) that share the identity-map and global page tables, helpers
 * to read and change entries, and the #PF handler with its fault record. */
#include "paging.h"

u32 *kpd, *kpd2;
static u32 pool_next = POOL_START;

u32 frame_alloc(void)
{
    if (pool_next >= POOL_END) {
        puts("paging: frame pool exhausted\n");
        guest_exit(3);
    }
    u32 frame = pool_next;
    pool_next += PAGE;
    memset((void *)frame, 0, PAGE); /* physical = linear: the pool is identity-mapped */
    return frame;
}

u32 *pte_ptr(u32 *pd, u32 va)
{
    u32 pde = pd[va >> 22];
    if (!(pde & PTE_P))
        return 0;
    return (u32 *)(pde & ~0xfffu) + ((va >> 12) & 0x3ff);
}

/* New page tables get P|W|U in their PDE: the PTEs alone decide, unless a case changes it. */
void map_page(u32 *pd, u32 va, u32 frame, u32 flags)
{
    if (!(pd[va >> 22] & PTE_P))
        pd[va >> 22] = frame_alloc() | PTE_P | PTE_W | PTE_U;
    *pte_ptr(pd, va) = frame | flags;
}

void set_pte(u32 *pd, u32 va, u32 value) { *pte_ptr(pd, va) = value; }
u32 get_pte(u32 *pd, u32 va) { return *pte_ptr(pd, va); }

void fill_frame(u32 frame, u32 first)
{
    u32 *p = (u32 *)frame;
    for (u32 i = 0; i < PAGE / 4; i++)
        p[i] = first + i;
}

/* ---- #PF --------------------------------------------------------------------------------- */
volatile struct pf_record pf_last;
pf_fixer *pf_fix;
u32 pf_codes_seen;

extern const char probe_fill_fault[];

void pf_clear(void)
{
    pf_last.count = pf_last.err = pf_last.cr2 = pf_last.eip = pf_last.ring = 0;
}

static void page_fault(struct frame *f)
{
    u32 cr2 = read_cr2();
    pf_last.count++;
    pf_last.err = f->err & 0xffff; /* bits 16-31 are reserved (SGX, ...) */
    pf_last.cr2 = cr2;
    pf_last.eip = f->eip;
    pf_last.ring = f->cs & 3;
    pf_codes_seen |= 1u << (f->err & 0x1f);
    if (pf_fix && pf_fix(cr2, f->err))
        return; /* repaired: retry the instruction */
    if (f->eip == (u32)probe_read_at || f->eip == (u32)probe_write_at || f->eip == cr2)
        f->eip = (u32)probe_fault_ret; /* cr2 == eip: a fetch fault at probe_call's target */
    else if (f->eip == (u32)probe_fill_at)
        f->eip = (u32)probe_fill_fault;
    else
        pm_unexpected(f);
}

static char where[64];

/* Formats the last fault into `where` (no kprintf into a buffer here, so by hand). */
static char *put(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}
static char *hex(char *p, u32 v, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        *p++ = "0123456789abcdef"[(v >> (4 * i)) & 15];
    return p;
}

const char *pf_where(u32 site)
{
    char *p = where;
    if (!pf_last.count) {
        put(p, "no fault")[0] = 0;
        return where;
    }
    p = hex(put(p, "#PF err="), pf_last.err, 2);
    p = hex(put(p, " cr2="), pf_last.cr2, 8);
    p = put(p, pf_last.eip == site ? " at insn" : " ELSEWHERE");
    p = put(p, pf_last.ring == 3 ? " ring 3" : " ring 0");
    if (pf_last.count > 1)
        p = hex(put(p, " x"), pf_last.count, 1);
    *p = 0;
    return where;
}

/* ---- Setup -------------------------------------------------------------------------------- */
static u32 *new_table(void) { return (u32 *)frame_alloc(); }

void mm_init(void)
{
    kpd = new_table();
    kpd2 = new_table();
    for (u32 t = 0; t < 2; t++) { /* identity 0-8 MiB */
        u32 *pt = new_table();
        for (u32 i = 0; i < 1024; i++)
            pt[i] = ((t << 22) + (i << 12)) | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
        kpd[t] = kpd2[t] = (u32)pt | PTE_P | PTE_W | PTE_U | PTE_A;
    }
    u32 *global = new_table(); /* shared by both directories */
    kpd[GLOBAL_VA >> 22] = kpd2[GLOBAL_VA >> 22] = (u32)global | PTE_P | PTE_W | PTE_U;
    kpd[SELF_VA >> 22] = (u32)kpd | PTE_P | PTE_W; /* the directory is its own page table */

    pm_set_handler(14, page_fault);
    write_cr3((u32)kpd);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
}
