/* pm.h - a small protected-mode kit for guests that run ring-3 code and take exceptions and
 * interrupts (paging, multitask): a GDT with flat ring-0 and ring-3 segments and a TSS, an IDT
 * whose entries all go through one dispatcher to per-vector C handlers, control-register and
 * TLB helpers, and user_call(), which runs a function at CPL 3 and returns its result.
 *
 * Control flow of an exception or interrupt: the stub in entry.S pushes a dummy error code
 * where the CPU pushes none and the vector, saves the registers (struct frame) and calls
 * pm_dispatch(), which calls pm_handlers[vector]; the handler may change the frame (EIP to
 * resume elsewhere, or a whole other register set to switch tasks) before the stub IRETs. */
#ifndef PM_H
#define PM_H
#include "guest.h"

/* Selectors */
#define SEL_CODE0 0x08
#define SEL_DATA0 0x10
#define SEL_CODE3 0x1b
#define SEL_DATA3 0x23
#define SEL_TSS 0x28

/* EFLAGS */
#define EFLAGS_RESERVED 0x002u
#define EFLAGS_IF 0x200u

/* Control-register bits */
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PGE (1u << 7)

/* Page-table entry bits (32-bit paging) */
#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_D 0x040u
#define PDE_PS 0x080u
#define PTE_G 0x100u
#define PAGE 4096u

/* #PF error-code bits */
#define PF_P 1u
#define PF_W 2u
#define PF_U 4u

/* What entry.S saves: the stack at the call to pm_dispatch, lowest address first. */
struct frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
    u32 vec, err;
    u32 eip, cs, eflags;
    u32 esp, ss; /* pushed by the CPU only on entry from ring 3 */
};

typedef void pm_handler(struct frame *f);
extern pm_handler *pm_handlers[256];

/* Load the GDT, TSS and IDT; every vector is "unexpected" until a handler is set. */
void pm_init(void);
/* Vectors with a stub: 0-19, 0x20-0x2f (the PIC's IRQs once remapped) and 0x80 (DPL 3). */
void pm_set_handler(u32 vector, pm_handler *h);
/* Print an unexpected exception and exit with status 2. */
void pm_unexpected(const struct frame *f) __attribute__((noreturn));

/* user_call(fn, a, b, esp): run fn(a, b) at CPL 3 with flat ring-3 segments, IF = 0 and its
 * stack at esp, and return what it returned. fn must be code the page tables let ring 3 run;
 * it returns through `int $0x80` in user_trampoline, and the 0x80 handler ends the call with
 * user_return(eax). pm_init() installs that handler; a guest that replaces it calls
 * user_return itself. */
u32 user_call(void *fn, u32 a, u32 b, u32 esp);
void user_return(u32 value) __attribute__((noreturn));
/* The TSS's ring-0 stack (where an interrupt from ring 3 lands); set by pm_init. */
void pm_set_kernel_stack(u32 esp0);

static inline u32 read_cr0(void) { u32 v; __asm__ volatile("movl %%cr0, %0" : "=r"(v)); return v; }
static inline u32 read_cr2(void) { u32 v; __asm__ volatile("movl %%cr2, %0" : "=r"(v)); return v; }
static inline u32 read_cr3(void) { u32 v; __asm__ volatile("movl %%cr3, %0" : "=r"(v)); return v; }
static inline u32 read_cr4(void) { u32 v; __asm__ volatile("movl %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u32 v) { __asm__ volatile("movl %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u32 v) { __asm__ volatile("movl %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u32 v) { __asm__ volatile("movl %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

#endif
