/* segments.c - segment registers and descriptor tables in ring 0: loading DS/ES/FS/GS/SS with
 * valid and refused selectors (null, beyond the GDT or LDT limit, system descriptors, execute-
 * only code, RPL/DPL mismatches, not present: #GP, #NP and #SS with the selector as error
 * code), POP to a segment register, LDS/LFS/LSS, reads of segment registers, LAR/LSL/VERR/VERW
 * on every kind of descriptor, memory accesses through segment overrides (including CS) and a
 * segment with a non-zero base, also with 16-bit addressing, and
 * SGDT/SIDT/SLDT/STR/SMSW/LMSW/CLTS (printing only what this
 * test loaded itself). Not covered, because QEMU (the reference) does not model them: limit,
 * write-permission and null-selector checks on ordinary data accesses, so no #GP from writing
 * a read-only segment or using a null one, and no #SS from exceeding a stack segment's limit. */
#include "cputest.h"

/* EAX = selector. A DS load that succeeds is undone at once: the harness needs DS. */
FSNIP(s_ds, "", "movl %eax, %ds; movl $0x10, %ecx; movl %ecx, %ds");
FSNIP(s_es, "", "movl %eax, %es; movl $0x10, %ecx; movl %ecx, %es");
FSNIP(s_fs_read, "", "movl %eax, %fs; movl %fs:alu_mem, %ebx; movl $0x10, %ecx; movl %ecx, %fs");
FSNIP(s_ss, "", "movl %eax, %ss; movl $0x10, %ecx; movl %ecx, %ss");

static void load_cases(void)
{
    static const struct {
        const char *name;
        snippet_fn *fn;
        u32 sel;
    } cases[] = {
        {"mov ds,null", s_ds, 0x00},          {"mov ds,beyond gdt", s_ds, 0x100},
        {"mov ds,exec-only code", s_ds, SEL_XCODE0}, {"mov ds,readable code", s_ds, SEL_CODE0},
        {"mov ds,tss", s_ds, SEL_TSS},        {"mov ds,ldt", s_ds, SEL_LDT},
        {"mov ds,call gate", s_ds, SEL_GATE3}, {"mov ds,not present", s_ds, SEL_NP},
        {"mov ds,rpl3 dpl0", s_ds, SEL_DATA0 | 3}, {"mov ds,dpl3", s_ds, SEL_DATA3},
        {"mov ds,read-only", s_ds, SEL_RODATA0}, {"mov es,ldt data", s_es, LDT_DATA0},
        {"mov es,ldt not present", s_es, LDT_NP}, {"mov es,beyond ldt", s_es, 0x14},
        {"mov es,null rpl3", s_es, 0x03},     {"mov fs,ldt data+read", s_fs_read, LDT_DATA0},
        {"mov ss,null", s_ss, 0x00},
        {"mov ss,not present", s_ss, SEL_NP}, {"mov ss,read-only", s_ss, SEL_RODATA0},
        {"mov ss,dpl3", s_ss, 0x20},          {"mov ss,rpl3", s_ss, SEL_DATA3},
        {"mov ss,code", s_ss, SEL_CODE0},     {"mov ss,beyond gdt", s_ss, 0x1000},
        {"mov ss,data0", s_ss, SEL_DATA0},    {"mov ss,rpl3 dpl0", s_ss, SEL_DATA0 | 3},
    };
    extern u32 alu_mem;
    alu_mem = 0x600d600d;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct regs r = {0};
        r.eax = cases[i].sel;
        fault_case(cases[i].name, cases[i].fn, &r);
        if (cases[i].fn == s_fs_read && !last_fault.count)
            tcase("%s: read %08x", cases[i].name, r.ebx);
        __asm__ volatile("movl %0, %%es; movl %0, %%fs; movl %0, %%gs" : : "r"(SEL_DATA0));
    }
}

/* POP DS faults with the selector still on the stack: ESI keeps ESP to return correctly */
SNIP(s_pop_ds, "movl %esp, %esi; pushl %eax; movl $9f, fault_recover; movl $8f, fault_site; "
               "8: popl %ds; movl $0x10, %ecx; movl %ecx, %ds; "
               "9: movl $0, fault_recover; movl %esp, %edi; subl %esi, %edi; movl %esi, %esp");
struct __attribute__((packed)) farptr {
    u32 off;
    u16 sel;
} s_ptr_bad = {0x1234, SEL_XCODE0}, s_ptr_fs = {0x00000040, SEL_BASED}, s_ptr_ss;
FSNIP(s_lds, "", "ldsl s_ptr_bad, %ebx; movl $0x10, %ecx; movl %ecx, %ds");
SNIP(s_lfs, "lfsl s_ptr_fs, %ebx; movl %fs:(%ebx), %ecx; movl %fs, %edx; "
            "movl $0x10, %eax; movl %eax, %fs");
/* LSS switches to a stack of our own and back */
SNIP(s_lss, "movl %esp, %edi; lssl s_ptr_ss, %esp; pushl $0xabcd1234; movl %esp, %esi; "
            "movl %ss, %edx; movl $0x10, %eax; movl %eax, %ss; movl %edi, %esp");
SNIP(s_reads, "movl %cs, %eax; movl %ss, %ecx; movw %ds, %dx; movw %es, alu_mem; "
              "pushl %fs; popl %ebx; pushw %gs; popw %bp; pushl $0x10; popl %es");

static void pop_ptr_cases(void)
{
    static const u32 sels[] = {SEL_XCODE0, SEL_NP, SEL_DATA3, SEL_TSS};
    for (int i = 0; i < 4; i++) {
        struct regs r = {0};
        r.eax = sels[i];
        fault_clear();
        run(&r, s_pop_ds);
        report_fault("pop ds");
        tcase("pop ds %04x: esp moved %d", sels[i], (int)r.edi);
    }
    struct regs r = {0};
    fault_case("lds exec-only", s_lds, &r);
    tcase("lds exec-only: ebx=%08x (not loaded)", r.ebx);
    for (int i = 0; i < 0x80; i++)
        seg_area[i] = (u8)(0x80 - i);
    run(&r, s_lfs);
    tcase("lfs: ebx=%08x fs:(ebx)=%08x fs=%04x", r.ebx, r.ecx, r.edx & 0xffff);
    static u32 alt_stack[16];
    s_ptr_ss.off = (u32)&alt_stack[16];
    s_ptr_ss.sel = SEL_DATA0;
    run(&r, s_lss);
    tcase("lss: esp=stack%+d pushed=%08x ss=%04x", (int)(r.esi - (u32)&alt_stack[16]),
          alt_stack[15], r.edx & 0xffff);
    extern u32 alu_mem;
    alu_mem = 0xffffffff;
    struct regs s = {0};
    s.edx = 0xdddddddd, s.ebp = 0xeeeeeeee;
    __asm__ volatile("movl %0, %%fs; movl %1, %%gs" : : "r"(SEL_BASED), "r"(LDT_DATA0));
    run(&s, s_reads);
    __asm__ volatile("movl %0, %%fs; movl %0, %%gs" : : "r"(SEL_DATA0));
    /* MOV r32,Sreg and PUSH Sreg leave the upper half implementation-specific: masked */
    tcase("sreg reads: cs=%04x ss=%04x ds(16)=%08x es->m16=%08x fs=%04x gs(16)=%08x",
          s.eax & 0xffff, s.ecx & 0xffff, s.edx, alu_mem, s.ebx & 0xffff, s.ebp);
}

static void access_cases(void)
{
    static const u32 sels[] = {0x00,       SEL_CODE0, SEL_DATA0, SEL_CODE3, SEL_DATA3,
                               SEL_TSS,    SEL_RODATA0, SEL_NP,  SEL_XCODE0, SEL_SMALL3,
                               SEL_CODE0B, SEL_GATE3, SEL_LDT,   SEL_BASED, SEL_CODE1,
                               SEL_RODATA3, LDT_DATA0, LDT_NP,   0x14,      0x100,
                               SEL_DATA0 | 3, 0x13c};
    for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++) {
        u32 sel = sels[i], ar = 0xeeeeeeee, lim = 0xeeeeeeee, f1, f2, f3, f4;
        __asm__ volatile("larl %5, %0; pushfl; popl %1; lsll %5, %2; pushfl; popl %3;"
                         "verr %w5; pushfl; popl %4"
                         : "+r"(ar), "=r"(f1), "+r"(lim), "=r"(f2), "=r"(f3)
                         : "r"(sel)
                         : "cc");
        __asm__ volatile("verw %w1; pushfl; popl %0" : "=r"(f4) : "r"(sel) : "cc");
        /* LAR: bits 16-19 of the result are undefined; an unset ZF leaves the destination */
        tcase("desc %04x: lar zf=%d %08x lsl zf=%d %08x verr zf=%d verw zf=%d", sel, !!(f1 & ZF),
              f1 & ZF ? ar & 0x00f0ff00 : ar, !!(f2 & ZF), lim, !!(f3 & ZF), !!(f4 & ZF));
    }
}

static void table_cases(void)
{
    struct __attribute__((packed)) {
        u16 limit;
        u32 base;
    } g = {0, 0}, i = {0, 0};
    u32 ldtr = 0xeeeeeeee, tr = 0xeeeeeeee;
    __asm__ volatile("sgdt %0; sidt %1; sldt %2; str %3" : "=m"(g), "=m"(i), "+r"(ldtr), "+r"(tr));
    tcase("sgdt limit=%04x base=gdt%+d sidt limit=%04x base=idt%+d sldt=%04x str=%04x", g.limit,
          (int)(g.base - (u32)gdt), i.limit, (int)(i.base - (u32)idt), ldtr & 0xffff, tr & 0xffff);
    u16 m16 = 0xeeee;
    __asm__ volatile("sldt %0" : "=m"(m16));
    tcase("sldt m16=%04x", m16);

    u32 cr0 = get_cr0(), msw[6];
    set_cr0(cr0 | 0x8 | 0x2); /* TS, MP */
    __asm__ volatile("smsw %0" : "=r"(msw[0]));
    __asm__ volatile("clts; smsw %0" : "=r"(msw[1]));
    __asm__ volatile("lmsw %w1; smsw %0" : "=r"(msw[2]) : "r"(0xeu)); /* sets MP EM TS */
    __asm__ volatile("lmsw %w1; smsw %0" : "=r"(msw[3]) : "r"(0x0u)); /* cannot clear PE */
    __asm__ volatile("lmsw %w1; smsw %0" : "=r"(msw[4]) : "r"(0xfff4u));
    m16 = 0xeeee;
    __asm__ volatile("smsw %0" : "=m"(m16));
    msw[5] = get_cr0();
    set_cr0(cr0);
    /* only PE MP EM TS are printed: ET and the upper half of a register destination vary */
    tcase("smsw mp+ts=%x clts=%x lmsw e=%x lmsw 0=%x lmsw fff4=%x smsw m16=%x cr0=%x",
          msw[0] & 15, msw[1] & 15, msw[2] & 15, msw[3] & 15, msw[4] & 15, m16 & 15, msw[5] & 15);
}

/* Loads through FS and GS = SEL_BASED (base seg_area), ES = flat, and CS */
const u32 cs_const = 0x600dc0de; /* read through CS by seg_loads */
SNIP(seg_loads, "movl $0x68, %eax; movl %eax, %fs; movl %eax, %gs; "
                "movl %fs:4(%ebx), %ecx; movl %gs:(%ebx,%esi,4), %edx; movl %es:seg_area + 8, %edi; "
                "movl %cs:cs_const, %ebp; movzbl %fs:0xffff, %esi; "
                "movl $0x10, %eax; movl %eax, %fs; movl %eax, %gs");
/* 16-bit addressing through FS: (bx+si) wraps at 64 KiB inside the segment */
SNIP(seg_a16, "movl $0x68, %eax; movl %eax, %fs; "
              "movl %fs:(%bx,%si), %ecx; .byte 0x64, 0x66, 0x67, 0x8b, 0x10; "
              "movl $0x10, %eax; movl %eax, %fs"); /* movw %fs:(%bx,%si), %dx */
SNIP(seg_store, "movl $0x68, %eax; movl %eax, %gs; movl %ebx, %gs:0x100; movw %bx, %gs:0x106; "
                "movb %bl, %gs:0x10b; movl $0x10, %eax; movl %eax, %gs");

static void seg_cases(void)
{
    for (int i = 0; i < 0x200; i++)
        seg_area[i] = (u8)(i * 7 + 1);
    seg_area[0xffff] = 0x5e;
    struct regs r = {0};
    r.ebx = 0x10, r.esi = 3;
    run(&r, seg_loads);
    tcase("seg fs:4+ebx=%08x gs:ebx+esi*4=%08x es:flat=%08x cs:const=%08x fs:ffff=%02x", r.ecx,
          r.edx, r.edi, r.ebp, r.esi);
    struct regs q = {0};
    q.ebx = 0xaaaaffff, q.esi = 0xbbbb0011; /* (bx+si) & 0xffff = 0x10 */
    run(&q, seg_a16);
    tcase("seg a16 fs:(bx+si)=%08x 66:%08x", q.ecx, q.edx);
    struct regs w = {0};
    w.ebx = 0xa1b2c3d4;
    run(&w, seg_store);
    tcase("seg gs stores %08x %08x %08x %08x", *(u32 *)&seg_area[0x100], *(u32 *)&seg_area[0x104],
          *(u32 *)&seg_area[0x108], *(u32 *)&seg_area[0x10c]);
}

void test_segments(void)
{
    seg_cases();
    load_cases();
    pop_ptr_cases();
    access_cases();
    table_cases();
}
