/* paging.h - shared by the paging guest's files: the memory layout, the page-table helpers
 * (mm.c), the fault recorder and the probes that may fault (probe.S), and case output.
 *
 * Physical memory (the guest needs 16 MiB; QEMU and wasmvisor run it with 32):
 *   1 MiB ...        the kernel image, stacks in .bss
 *   4-8 MiB          POOL: page directories, page tables and test frames, handed out in order
 *   8 MiB, 12 MiB    two 4 MiB frames for the 4 MiB-page cases (not identity-mapped)
 * Linear memory: 0-8 MiB identity-mapped with 4 KiB pages, P|W|U|A|D (A and D preset, as
 * kernels do for their own mappings); the rest is the test regions below. */
#ifndef PAGING_H
#define PAGING_H
#include "../pm/pm.h"

#define POOL_START 0x00400000u
#define POOL_END 0x00800000u
#define BIG_FRAME 0x00800000u  /* a 4 MiB frame */
#define BIG_FRAME2 0x00c00000u /* another, for CR4.PSE = 0 */

#define DEMAND_BASE 0x10000000u /* demand-paged: nothing mapped until it faults */
#define TEST_VA 0x40000000u     /* per-case mappings, page table TEST_PT */
#define PDE_TEST_VA 0x40400000u /* its own page table, for PDE-level permissions */
#define GLOBAL_VA 0x50000000u   /* global pages, one page table shared by both directories */
#define BIG_VA 0x80000000u      /* 4 MiB pages */
#define SELF_VA 0xffc00000u     /* the directory mapped into itself (PDE 1023) */

/* mm.c */
extern u32 *kpd;  /* the kernel's page directory */
extern u32 *kpd2; /* a second address space: same identity and global tables */
u32 frame_alloc(void);                  /* a zeroed frame from the pool */
u32 *pte_ptr(u32 *pd, u32 va);          /* the PTE for va; 0 if its PDE is not present */
void map_page(u32 *pd, u32 va, u32 frame, u32 flags); /* allocates the page table if needed */
void set_pte(u32 *pd, u32 va, u32 value);
u32 get_pte(u32 *pd, u32 va);
void mm_init(void);                     /* builds kpd, kpd2 and turns paging on */
void fill_frame(u32 frame, u32 first);  /* frame[i] = first + i (through the identity map) */

/* The #PF handler (mm.c) records each fault; a fixer installed by a case may repair it
 * (return 1: the instruction is retried). Unrepaired faults at a probe resume at its end. */
struct pf_record {
    u32 count, err, cr2, eip, ring;
};
extern volatile struct pf_record pf_last;
typedef int pf_fixer(u32 cr2, u32 err);
extern pf_fixer *pf_fix;
extern u32 pf_codes_seen; /* bit n: a #PF with error code n happened */
void pf_clear(void);
/* " -> #PF err=E cr2=C at <where>" or " -> no fault"; `site` is where it should have been */
const char *pf_where(u32 site);

/* probe.S: accesses that may fault; a fault resumes at probe_fault_ret (EAX = 0xfa17fa17). */
#define FAULTED 0xfa17fa17u
u32 probe_read(u32 va);
u32 probe_write(u32 va, u32 value);  /* returns 0 */
u32 probe_call(u32 va);              /* calls code at va */
u32 probe_fill(u32 va, u32 value, u32 dwords); /* rep stosl; returns the final EDI */
u32 probe_push(u32 esp, u32 value);  /* pushes value on a stack at esp; returns 0 */
extern const char probe_read_at[], probe_write_at[], probe_fill_at[], probe_push_at[];
extern const char probe_fault_ret[];
extern const char code_blob[], code_blob_end[]; /* "mov $0x600d, %eax; ret" */
extern u8 user_stack_top[];
extern const char user_trampoline[]; /* pm/entry.S: its first PUSH is the first ring-3 stack access */

/* main.c: every case line goes through tcase */
void tcase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* case families */
void test_basic(void);
void test_demand(void);
void test_cow(void);
void test_tlb(void);
void test_global(void);
void test_wp(void);
void test_user(void);
void test_big_pages(void);
void test_accessed_dirty(void);
void test_error_codes(void);

#endif
