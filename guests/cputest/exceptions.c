/* exceptions.c - exceptions raised in ring 0 and caught by the test's own IDT: #DE, #BP (INT3
 * and INT 3), #OF (INTO with OF=1, and nothing with OF=0), #BR (BOUND in and out of range),
 * #UD (UD2, LOCK on a register operand or a non-lockable instruction, LEA with a register
 * operand, MOV to CS, undefined group encodings), #NM (x87 with CR0.EM=1, WAIT with MP=TS=1),
 * #UD for MMX/SSE with CR0.EM=1 or CR4.OSFXSR=0, software INT through a present gate, a
 * not-present gate (#NP) and beyond the IDT limit (#GP), and far JMPs the descriptor checks
 * refuse (#GP). Each prints vector, error code, CS and the EIP relative to the faulting
 * instruction: faults report +0, traps (INT3, INTO, INT n) the length of the instruction. */
#include "cputest.h"

s32 bounds32[2] = {-10, 20}; /* BOUND operands, referenced from the snippets */
s16 bounds16[2] = {0x100, 0x200};

FSNIP(x_div0, "xorl %ecx, %ecx", "divl %ecx");
FSNIP(x_int3, "", "int3");
FSNIP(x_int_3, "", ".byte 0xcd, 0x03"); /* gas would shorten int $3 to int3 */
FSNIP(x_into1, "movl $0x7fffffff, %eax; addl $1, %eax", "into");
FSNIP(x_into0, "movl $0x7ffffffe, %eax; addl $1, %eax", "into");
FSNIP(x_bound_in, "movl $20, %eax", "boundl %eax, bounds32");
FSNIP(x_bound_lo, "movl $-11, %eax", "boundl %eax, bounds32");
FSNIP(x_bound_hi, "movl $21, %eax", "boundl %eax, bounds32");
FSNIP(x_bound_neg, "movl $-10, %eax", "boundl %eax, bounds32");
FSNIP(x_bound16, "movl $0xffff0201, %eax", "boundw %ax, bounds16");
FSNIP(x_bound16_in, "movl $0xffff0100, %eax", "boundw %ax, bounds16");
FSNIP(x_ud2, "", "ud2");
FSNIP(x_lock_reg, "", ".byte 0xf0, 0x01, 0xc3"); /* lock addl %eax, %ebx */
FSNIP(x_lock_mem, "", "lock addl %eax, alu_mem"); /* fine: memory destination */
FSNIP(x_lea_reg, "", ".byte 0x8d, 0xc0");        /* lea with mod = 11 */
FSNIP(x_mov_cs, "", ".byte 0x8e, 0xc8");         /* movl %eax, %cs */
FSNIP(x_grp4, "", ".byte 0xfe, 0xf8");           /* group 4 /7 */
FSNIP(x_grp5, "", ".byte 0xff, 0xf8");           /* group 5 /7 */
FSNIP(x_sreg7, "", ".byte 0x8e, 0xf8");          /* mov to segment register 7 */
FSNIP(x_fninit, "", "fninit");
FSNIP(x_fld1, "", "fld1");
FSNIP(x_fwait, "", "fwait");
FSNIP(x_movd, "", "movd %eax, %mm0");
FSNIP(x_xorps, "", "xorps %xmm0, %xmm0");
FSNIP(x_int80, "", "int $0x80");
FSNIP(x_int40, "", "int $0x40");
FSNIP(x_int41, "", "int $0x41");
FSNIP(x_int81, "", "int $0x81");
FSNIP(x_ljmp_data, "", "ljmp $0x10, $9f");
FSNIP(x_ljmp_null, "", "ljmp $0x00, $9f");
FSNIP(x_ljmp_limit, "", "ljmp $0x100, $9f");
FSNIP(x_ljmp_ring3, "", "ljmp $0x18, $9f");
FSNIP(x_ljmp_rpl3, "", "ljmp $0x0b, $9f");
FSNIP(x_ljmp_tss, "", "ljmp $0x60, $9f"); /* an LDT descriptor is not a jump target */
FSNIP(x_lcall_xonly, "", "lcall $0x40, $1f; jmp 9f; 1: movl %cs, %ebx; lret");

static void fault_list(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
    } cases[] = {
        {"div 0", x_div0},
        {"int3", x_int3},
        {"int 3", x_int_3},
        {"into of=1", x_into1},
        {"into of=0", x_into0},
        {"bound 20 in [-10,20]", x_bound_in},
        {"bound -11", x_bound_lo},
        {"bound 21", x_bound_hi},
        {"bound -10", x_bound_neg},
        {"boundw 201 in [100,200]", x_bound16},
        {"boundw 100", x_bound16_in},
        {"ud2", x_ud2},
        {"lock add reg", x_lock_reg},
        {"lock add mem", x_lock_mem},
        {"lea reg", x_lea_reg},
        {"mov cs", x_mov_cs},
        {"fe /7", x_grp4},
        {"ff /7", x_grp5},
        {"mov sreg7", x_sreg7},
        {"int 0x80 (present, dpl 3)", x_int80},
        {"int 0x40 (gate not present)", x_int40},
        {"int 0x41 (not a gate)", x_int41},
        {"int 0x81 (beyond idt limit)", x_int81},
        {"ljmp data seg", x_ljmp_data},
        {"ljmp null", x_ljmp_null},
        {"ljmp beyond gdt", x_ljmp_limit},
        {"ljmp ring-3 code", x_ljmp_ring3},
        {"ljmp rpl 3", x_ljmp_rpl3},
        {"ljmp ldt descriptor", x_ljmp_tss},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct regs r = {0};
        r.eax = 1;
        fault_case(cases[i].name, cases[i].fn, &r);
    }
    struct regs r = {0};
    fault_case("lcall execute-only code", x_lcall_xonly, &r);
    tcase("lcall execute-only code: cs there=%04x", r.ebx & 0xffff);
}

static void set_cr4(u32 v) { __asm__ volatile("movl %0, %%cr4" : : "r"(v)); }

/* CR0: MP = bit 1, EM = bit 2, TS = bit 3 */
static void fpu_cases(void)
{
    u32 cr0 = get_cr0();
    struct regs r = {0};
    set_cr0(cr0 | 0x4); /* EM */
    fault_case("em=1 fninit", x_fninit, &r);
    fault_case("em=1 fld1", x_fld1, &r);
    fault_case("em=1 fwait", x_fwait, &r);
    fault_case("em=1 movd mmx", x_movd, &r);
    fault_case("em=1 xorps", x_xorps, &r);
    set_cr0(cr0 | 0x2 | 0x8); /* MP, TS */
    fault_case("mp=1 ts=1 fwait", x_fwait, &r);
    fault_case("mp=1 ts=1 fninit", x_fninit, &r);
    set_cr0(cr0 | 0x8); /* TS without MP: WAIT does not fault */
    fault_case("mp=0 ts=1 fwait", x_fwait, &r);
    set_cr0(cr0);
    set_cr4(0); /* OSFXSR clear: SSE instructions are undefined */
    fault_case("osfxsr=0 xorps", x_xorps, &r);
}

void test_exceptions(void)
{
    fault_list();
    fpu_cases();
}
