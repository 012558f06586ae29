/* hypercall.h - the guest side of wasmvisor's VMCALL interface (README "Hypercalls",
 * src/vmm/hypercalls.ts): EAX = function, EBX/ECX = arguments, result in EAX (EDX:EAX for
 * 64-bit results), negative on error. VMCALL always exits under VT-x; on a CPU or hypervisor
 * without this interface it raises #UD, so call these only after detecting wasmvisor
 * (CPUID 0x40000000 = "wasmvisor\0\0\0"), or under wasmvisor only. */
#ifndef HYPERCALL_H
#define HYPERCALL_H
#include "guest.h"

#define HC_CONSOLE_WRITE 1 /* EBX = buffer, ECX = length (<= 64 KiB): write to the console; returns
                            * the bytes written, fewer (0 too) while the host's console is full:
                            * write the rest again */
#define HC_CLOCK 2         /* EDX:EAX = instructions retired (the virtual clock) */
#define HC_EXIT 3          /* EBX = status: end the run */
#define HC_EXIT_COUNT 4    /* EBX = exit reason: EDX:EAX = exits with it so far */
#define HC_INJECT_AFTER 5  /* EBX = vector (32-255), ECX = instructions: raise an interrupt then */
#define HC_DISPLAY_RECT 6  /* EBX = x | y << 16, ECX = width | height << 16: the guest drew this
                            * rectangle of its frame buffer (pixels; text mode: cells); under
                            * --display-update pv only reported rectangles reach the screen */

static inline int hypercall2(u32 func, u32 a, u32 b)
{
    int r;
    __asm__ volatile("vmcall" : "=a"(r) : "a"(func), "b"(a), "c"(b) : "edx", "memory");
    return r;
}

static inline unsigned long long hypercall64(u32 func, u32 a)
{
    u32 lo, hi;
    __asm__ volatile("vmcall" : "=a"(lo), "=d"(hi) : "a"(func), "b"(a) : "ecx", "memory");
    return ((unsigned long long)hi << 32) | lo;
}

static inline unsigned long long hc_clock(void) { return hypercall64(HC_CLOCK, 0); }
static inline int hc_inject_after(u32 vector, u32 instructions) { return hypercall2(HC_INJECT_AFTER, vector, instructions); }
/* The highest hypercall function this hypervisor offers (CPUID 0x40000001 EBX under wasmvisor),
 * 0 anywhere else: a guest calls function F only if hc_functions() >= F. */
static inline u32 hc_functions(void)
{
    u32 a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
    if (a < 0x40000001 || b != 0x6d736177 || c != 0x6f736976 || d != 0x00000072) /* "wasmvisor\0\0\0" */
        return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000001), "c"(0));
    return b;
}

static inline int hc_display_rect(u32 x, u32 y, u32 width, u32 height)
{
    return hypercall2(HC_DISPLAY_RECT, x | y << 16, width | height << 16);
}

#endif
