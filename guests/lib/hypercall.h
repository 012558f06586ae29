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

#endif
