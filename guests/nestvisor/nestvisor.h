/* nestvisor.h - what the parts of the sample guest hypervisor share.
 *
 * nestvisor is written once for both virtualization interfaces, as KVM is: the shared part loads
 * L2 (l2.c), emulates what L2 talks to and counts (devices.c) and drives the run (nestvisor.c);
 * a backend, VMX (vmx.c, vmx-enter.S) or SVM (svm.c, svm-enter.S), holds what differs: turning
 * virtualization on, L2's state in the VMCS or VMCB, entering L2 and decoding its exits.
 *
 * Physical memory, identity-mapped for L1 (4 MiB pages) and partly for L2:
 *   0 - 16 MiB     L2's memory: its kernel where its ELF headers say (from 1 MiB), or its boot
 *                  sector at 0x7C00, the Multiboot information nestvisor writes for it and
 *                  whatever L2 uses;
 *   16 MiB -       nestvisor itself (linked there) and the modules the boot loader placed. */
#ifndef NESTVISOR_H
#define NESTVISOR_H
#include "guest.h"

#define PAGE 4096
#define L2_MEMORY 0x01000000u   /* 16 MiB: the paging guest uses frames up to 16 MiB */
#define L2_LOWEST_LOAD 0x100000u /* L2's kernel goes at or above 1 MiB, as a boot loader's would */
#define L2_BOOT_SECTOR 0x7c00u   /* where a BIOS loads a boot sector and starts it, at 0000:7C00 */

/* L2's boot page, below 640 KiB where a boot loader puts such things: a GDT with flat code and
 * data segments and a TSS (VM entry needs a usable TR), the Multiboot information, the command line. */
#define L2_BOOT_PAGE 0x7000u
#define L2_GDT (L2_BOOT_PAGE + 0x000)
#define L2_GDT_LIMIT (4 * 8 - 1)
#define L2_TSS (L2_BOOT_PAGE + 0x100)
#define L2_TSS_LIMIT 0x67
#define L2_SEL_CODE 0x08
#define L2_SEL_DATA 0x10
#define L2_SEL_TSS 0x18

#define CR0_PE (1u << 0)
#define CR0_ET (1u << 4)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)

#define EXCEPTION_UD 6
#define EXCEPTION_GP 13

/* L2's general registers while L1 runs (vmx-enter.S and svm-enter.S know this layout); ESP is in
 * the VMCS or VMCB, and so is EAX under SVM (svm.c copies it here and back). */
struct guest_regs {
    u32 eax, ecx, edx, ebx, ebp, esi, edi;
};

/* How L2 starts: as a Multiboot kernel (32-bit protected mode, flat segments of the boot page's
 * GDT, paging off, EAX and EBX as Multiboot says), or as a boot sector (real mode at 0000:7C00). */
struct l2_start {
    int real_mode;
    u32 eip, eax, ebx;
};

/* l2.c */
/* Loads L2 from the first module; NULL, or what is wrong. *args: the module's arguments after its
 * file name. Nothing printed depends on the kernel's size or addresses, so that rebuilding a
 * sample guest does not change nestvisor's golden outputs unless the guest's behaviour changes. */
const char *l2_load(const struct mb_info *mb, const char **args);
/* Writes what L2 finds in its memory at the start (the boot page) and says how it starts. */
void l2_boot(struct l2_start *start);

/* devices.c: what L2 sees beyond the CPU, the same under either backend. */
enum verdict { RESUME, STOP };
void l2_cpuid(struct guest_regs *regs); /* CPUID with nestvisor's identity, no VMX or SVM */
/* An IN or OUT of `size` bytes at `port`, its value in EAX; STOP once L2 ended by writing its status. */
enum verdict l2_port_io(struct guest_regs *regs, u32 port, u32 size, int in, int string);
enum verdict l2_halted(void);
enum verdict l2_stopped(const char *what, u32 eip);
u32 l2_status(void); /* L2's exit code, or 1 if it did not end by writing one */
void print_line_break(void); /* end L2's unfinished line before L1 prints its own */
/* The report at the end: each nonzero count of counts[0..n) with its name, the code in hex if `hex`. */
void print_exit_counts(const u32 *counts, const char *const *names, u32 n, int hex);

/* A virtualization interface: the backend nestvisor.c drives. */
struct backend {
    const char *name;  /* "VMX" or "SVM" */
    const char *ready; /* what is ready once it is on */
    int (*offered)(void);
    void (*enable)(void); /* stops nestvisor with a message if it cannot */
    void (*boot_l2)(struct guest_regs *regs, const struct l2_start *start);
    enum verdict (*run)(struct guest_regs *regs); /* enter L2 and handle the exit it comes back with */
    void (*print_exit_counts)(void);
    void (*disable)(void);
};
extern const struct backend vmx_backend, svm_backend;

/* nestvisor.c */
void fail(const char *what) __attribute__((noreturn)); /* prints it and stops nestvisor */
void stop_l1(u32 status) __attribute__((noreturn));
/* nestvisor's GDT (loaded by nestvisor.c): the selectors and TSS a VM exit's host state names. */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
extern unsigned long long l1_gdt[4];
extern u8 l1_tss[0x68];

#endif
