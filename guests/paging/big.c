/* big.c - 4 MiB pages (CR4.PSE): translation through a PDE with PS=1, two 4 MiB pages on one
 * frame, permissions, the PDE's own A and D bits, and CR4.PSE=0, under which the same PDE is
 * an ordinary pointer to a page table (its PS bit ignored). */
#include "paging.h"

#define BIG (BIG_VA)                 /* -> BIG_FRAME, P|W|U */
#define BIG_ALIAS (BIG_VA + 0x400000) /* -> BIG_FRAME, P (read-only, supervisor) */
#define BIG_PSE (BIG_VA + 0x800000)  /* -> BIG_FRAME2 */
#define PDE(va) kpd[(va) >> 22]

static u32 uread(u32 va) { return user_call(probe_read, va, 0, (u32)user_stack_top); }
static void uwrite(u32 va, u32 v) { user_call(probe_write, va, v, (u32)user_stack_top); }

void test_big_pages(void)
{
    write_cr4(read_cr4() | CR4_PSE);
    PDE(BIG) = BIG_FRAME | PDE_PS | PTE_P | PTE_W | PTE_U;
    PDE(BIG_ALIAS) = BIG_FRAME | PDE_PS | PTE_P;

    probe_write(BIG + 0x123450, 0x00b16b16);
    probe_write(BIG + 0x3ffffc, 0x0e0d0e0d);
    tcase("4m: written through 80000000, the alias at 80400000 reads %08x and %08x",
          probe_read(BIG_ALIAS + 0x123450), probe_read(BIG_ALIAS + 0x3ffffc));

    pf_clear();
    probe_write(BIG_ALIAS + 0x2000, 1);
    tcase("4m: ring-0 write to a read-only 4 MiB page -> %s", pf_where((u32)probe_write_at));
    pf_clear();
    uread(BIG_ALIAS + 0x3000);
    tcase("4m: ring-3 read of a supervisor 4 MiB page -> %s", pf_where((u32)probe_read_at));
    pf_clear();
    uwrite(BIG + 0x201000, 0x77);
    tcase("4m: ring-3 write to a user 4 MiB page -> %s; the alias reads %08x",
          pf_where((u32)probe_write_at), probe_read(BIG_ALIAS + 0x201000));

    PDE(BIG) &= ~(PTE_A | PTE_D);
    invlpg(BIG + 0x123000);
    probe_read(BIG + 0x123000);
    u32 after_read = PDE(BIG);
    probe_write(BIG + 0x123004, 2);
    u32 after_write = PDE(BIG);
    tcase("4m: PDE after a read: A=%u D=%u; after a write: A=%u D=%u", (after_read & PTE_A) != 0,
          (after_read & PTE_D) != 0, (after_write & PTE_A) != 0, (after_write & PTE_D) != 0);

    /* CR4.PSE=0: BIG_PSE's PDE (PS=1) becomes a page-table pointer to BIG_FRAME2, whose entry 5
     * we write through the 4 MiB page while PSE is still on */
    u32 f = frame_alloc();
    fill_frame(f, 0x45000000);
    PDE(BIG_PSE) = BIG_FRAME2 | PDE_PS | PTE_P | PTE_W | PTE_U;
    probe_write(BIG_PSE + 5 * 4, f | PTE_P | PTE_W);
    probe_write(BIG_PSE + 0x5000, 0x12345678);
    u32 with_pse = probe_read(BIG_PSE + 0x5000);
    write_cr4(read_cr4() & ~CR4_PSE); /* changing CR4.PSE flushes the TLB */
    u32 without_pse = probe_read(BIG_PSE + 0x5004);
    write_cr4(read_cr4() | CR4_PSE);
    tcase("4m: 80805000 reads %08x with CR4.PSE=1, %08x with PSE=0 (PDE as page table), %08x with "
          "PSE=1 again", with_pse, without_pse, probe_read(BIG_PSE + 0x5000));
    PDE(BIG_PSE) = 0;
    write_cr4(read_cr4() & ~CR4_PSE);
}
