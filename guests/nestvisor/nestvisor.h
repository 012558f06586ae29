/* nestvisor.h - what the parts of the sample guest hypervisor share.
 *
 * Physical memory, identity-mapped for L1 (4 MiB pages) and partly for L2:
 *   0 - 16 MiB     L2's memory: its kernel where its ELF headers say (from 1 MiB), the Multiboot
 *                  information nestvisor writes for it (L2_BOOT_PAGE) and whatever L2 uses;
 *   16 MiB -       nestvisor itself (linked there) and the modules the boot loader placed. */
#ifndef NESTVISOR_H
#define NESTVISOR_H
#include "vmx.h"

#define PAGE 4096
#define L2_MEMORY 0x01000000u   /* 16 MiB: the paging guest uses frames up to 16 MiB */
#define L2_LOWEST_LOAD 0x100000u /* L2's kernel goes at or above 1 MiB, as a boot loader's would */

/* L2's general registers while L1 runs (enter.S knows this layout); ESP is in the VMCS. */
struct guest_regs {
    u32 eax, ecx, edx, ebx, ebp, esi, edi;
};

/* l2.c */
/* Loads L2 from the first module; NULL, or what is wrong. *args: the module's arguments after its
 * file name. Nothing printed depends on the kernel's size or addresses, so that rebuilding a
 * sample guest does not change nestvisor's golden outputs unless the guest's behaviour changes. */
const char *l2_load(const struct mb_info *mb, const char **args);
void l2_boot_state(struct guest_regs *regs);  /* VMCS guest state and registers of a Multiboot entry */
u32 l2_flat_page_directory(void);             /* page tables for L2 while its paging is off */

/* exits.c */
enum verdict { RESUME, STOP };
void exits_init(void);
enum verdict handle_exit(struct guest_regs *regs);
void print_exit_counts(void);
u32 l2_status(void); /* L2's exit code, or 1 if it did not end by writing one */

/* nestvisor.c */
void vmcs_write(u32 field, u32 value); /* a failed VMWRITE stops nestvisor with its error */
void print_line_break(void);           /* end L2's unfinished line before L1 prints its own */
void stop_l1(u32 status) __attribute__((noreturn));

#endif
