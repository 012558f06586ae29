/* vmexit.h - the vmexit benchmark guest (kvm-unit-tests' x86/vmexit.c in spirit): each test is a
 * pair of loops, one whose body does an exit-causing operation and a matching one without it;
 * main.c times both and prints the difference per iteration. machine.c sets up what the tests
 * need: a GDT and IDT, the 8259 PICs, the 8254 PIT, COM1's THRE interrupt and 32-bit paging. */
#ifndef VMEXIT_H
#define VMEXIT_H
#include "guest.h"

/* One test: run(n, param, base) runs n iterations of the operation, or with base != 0 the same
 * loop without it. `paging` tests run with CR0.PG set. `hypercall` tests need wasmvisor. `vmx`
 * tests need VMX (wasmvisor --nested vmx): `all` leaves them out. */
struct test {
    const char *name;
    u32 (*run)(u32 n, u32 param, int base);
    u32 default_param;
    int paging;
    int hypercall;
    int vmx;
};

extern const struct test tests[];
extern const u32 test_count;

/* machine.c */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1
#define PIC_EOI 0x20
#define IRQ_TIMER 0
#define IRQ_COM1 4
#define COM1_DATA 0x3F8
#define COM1_SCRATCH 0x3FF
#define COM1_IER 0x3F9
#define COM1_LSR 0x3FD
#define IER_RDI 0x01
#define IER_THRI 0x02
#define LSR_DR 0x01
#define CR0_TS (1u << 3)
#define CR0_WP (1u << 16)
#define PTE_A (1u << 5)
#define CR0_PG (1u << 31)
#define PAGE 4096u
#define ADDRESS_SPACES 8        /* page directories for the CR3 tests */
#define FRESH_BASE 0x800000u    /* the hidden-fault test's region: 8-24 MiB */
#define FRESH_TABLES 4          /* page tables covering it */
#define FRESH_PAGES (FRESH_TABLES * 1024)
#define UNMAPPED 0x2000000u     /* 32 MiB: no page table maps it (the pgfault test) */
#define VECTOR_DE 0
#define VECTOR_PF 14
#define SYSCALL_VECTOR 0x80     /* the syscall test's system call: IRET at once */
#define USER_RETURN_VECTOR 0x81 /* ring 3 back to the kernel at the end of user_loop() */

extern volatile u32 interrupts_taken; /* incremented by the timer and COM1 handlers */
extern u32 page_directories[ADDRESS_SPACES];
extern u32 page_data[1024];           /* plain RAM the memory tests read and write */

void machine_init(void);
/* An interrupt gate at `vector` to `handler`, callable from rings up to `dpl`; unexpected_gate()
 * puts back the stub that reports the vector and ends the run. */
void set_gate(u32 vector, const void *handler, u32 dpl);
void unexpected_gate(u32 vector);
/* The page-table entry that maps `address` in the identity tables every address space shares. */
u32 *pte_of(u32 address);
void pic_unmask(int irq);
void pic_mask_all(void);
void pit_periodic(u32 divisor);
void pit_stop(void);
void paging_on(void);
void paging_off(void);
/* Point the hidden-fault region of the first address space at the other copy of its tables. */
void fresh_tables_swap(void);
/* Halt until the host sends a byte to COM1 (the `ack` option of main.c). */
void wait_for_host(void);

/* stubs.S: n iterations at ring 3 of INT SYSCALL_VECTOR (syscalls != 0) or of nothing, with the
 * same way into ring 3 (IRET) and back (INT USER_RETURN_VECTOR) either way. Paging must be off:
 * the identity tables do not let ring 3 in. */
void user_loop(u32 n, int syscalls);
/* An empty function: the call/ret test calls it. */
void empty_function(void);
/* Handlers for a fault of a 2-byte instruction that return past it: #DE, and #PF (error code). */
extern char skip_fault_stub[], skip_fault_error_stub[];

static inline void write_cr0(u32 v) { __asm__ volatile("movl %0, %%cr0" : : "r"(v) : "memory"); }
static inline u32 read_cr0(void) { u32 v; __asm__ volatile("movl %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr3(u32 v) { __asm__ volatile("movl %0, %%cr3" : : "r"(v) : "memory"); }

#endif
