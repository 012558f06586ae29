/* cputest.h - shared by the cputest families: the register harness, snippets, case output,
 * flag masks, the exception-catching protocol and the descriptor-table layout (desc.c).
 *
 * A test case loads registers and flags into a struct regs, runs a snippet of assembly with
 * run() and prints one line with what came out, masked to what the Intel SDM defines. */
#ifndef CPUTEST_H
#define CPUTEST_H
#include "guest.h"

/* EFLAGS bits */
#define CF 0x0001u
#define PF 0x0004u
#define AF 0x0010u
#define ZF 0x0040u
#define SF 0x0080u
#define TF 0x0100u
#define IF 0x0200u
#define DF 0x0400u
#define OF 0x0800u
#define IOPL3 0x3000u
#define NT 0x4000u
#define ARITH (OF | SF | ZF | AF | PF | CF) /* the six status flags, 0x8d5 */
#define LOGIC (OF | SF | ZF | PF | CF)      /* AND/OR/XOR/TEST leave AF undefined */

/* Register block for run(). esp is an output only: how far the snippet moved ESP (0 if it
 * returned with a balanced stack). eflags input is masked to the status flags and DF. */
struct regs {
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi, eflags;
};
typedef void snippet_fn(void);
void run(struct regs *r, snippet_fn *fn); /* harness.S; clears DF afterwards */

/* SNIP(name, "insn; insn") defines a snippet: a code fragment ending in ret that run() calls
 * with the registers loaded. Bodies use AT&T syntax; ';' separates instructions. Labels 8 and
 * 9 are reserved for FSNIP. */
#define SNIP(name, body)                                                                     \
    void name(void);                                                                         \
    __asm__(".pushsection .text\n.balign 4\n" #name ":\n\t" body "\n\tret\n.popsection\n")

/* FSNIP(name, setup, insn): a snippet where insn may fault. The exception handler resumes at
 * label 9 and records the faulting EIP, which report_fault() prints relative to label 8
 * (the first byte of insn). ESP is put back as it was before insn, so insn may push. */
#define FSNIP(name, setup, insn)                                                             \
    SNIP(name, setup "\n\tmovl $9f, fault_recover\n\tmovl $8f, fault_site\n\t"                \
                     "movl %esp, fault_esp\n8:\t" insn                                          \
                     "\n9:\tmovl $0, fault_recover\n\tmovl fault_esp, %esp")

/* Recorded by the exception handler (desc.c) */
struct fault {
    u32 vec, err, eip, cs, count;
};
extern volatile struct fault last_fault;
extern volatile u32 fault_recover; /* where the handler resumes; 0 = unexpected exception */
extern volatile u32 fault_site;    /* label printed as the reference for the faulting EIP */
extern volatile u32 fault_esp;     /* ESP before the instruction under test */
void fault_clear(void);
/* Prints "<label>: vec=.. err=.... eip=site+N" or "<label>: no exception"; counts a case. */
void report_fault(const char *label);
/* Runs fn with r under the fault protocol and reports the exception. */
void fault_case(const char *label, snippet_fn *fn, struct regs *r);

/* Output: every test line goes through tcase(), which counts it. */
void tcase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern u32 ncases;

/* Selectors of the test's own GDT (desc.c) */
#define SEL_CODE0 0x08
#define SEL_DATA0 0x10
#define SEL_CODE3 0x1b
#define SEL_DATA3 0x23
#define SEL_TSS 0x28
#define SEL_RODATA0 0x30 /* read-only data, DPL 0 */
#define SEL_NP 0x38      /* writable data, P = 0 */
#define SEL_XCODE0 0x40  /* execute-only code, DPL 0 */
#define SEL_SMALL3 0x4b  /* data, DPL 3, byte-granular limit 0xfff */
#define SEL_CODE0B 0x50  /* a second flat ring-0 code segment, for far transfers */
#define SEL_GATE3 0x5b   /* call gate, DPL 3, to ring 0 (callgate_target), 2 parameters */
#define SEL_LDT 0x60
#define SEL_BASED 0x68   /* data, DPL 0, base = seg_area, limit 0xffff */
#define SEL_CODE1 0x71   /* flat ring-1 code */
#define SEL_GATE1 0x7b   /* call gate, DPL 3, to ring 1 (TSS.SS1 is deliberately wrong) */
#define SEL_RODATA3 0x83 /* read-only data, DPL 3 */
#define GDT_ENTRIES 17
#define LDT_DATA0 0x04   /* LDT entry 0: flat data DPL 0 */
#define LDT_NP 0x0c      /* LDT entry 1: not present */
#define IDT_VECTORS 0x81 /* IDT limit covers vectors 0..0x80 */

extern u8 seg_area[0x10000];
extern u32 gdt[GDT_ENTRIES][2];
extern u32 idt[IDT_VECTORS][2];
extern u32 ldt[2][2];
void desc_init(void);

/* What isr.S pushes before calling exc_dispatch() */
struct frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
    u32 vec, err;
    u32 eip, cs, eflags;
    u32 esp, ss; /* pushed by the CPU only on a privilege change */
};
/* If set, INT 0x80 goes here instead of the fault protocol (privilege.c uses it) */
extern void (*int80_hook)(struct frame *f);
void set_cr0(u32 v);
u32 get_cr0(void);

/* Families, in the order main.c runs them: first those that would run as well in a user
 * process (host-oracle/ checks them against the machine's own CPU), then the ones that need
 * ring 0 and the test's descriptor tables. */
void test_alu(void);
void test_alu_forms(void);
void test_shift(void);
void test_muldiv(void);
void test_bits(void);
void test_misc(void);
void test_addr(void);
void test_string(void);
void test_control(void);
void test_control_system(void);
void test_string_segs(void);
void test_exceptions(void);
void test_segments(void);
void test_privilege(void);
void test_sysenter(void);

#endif
