/* exitloop - benchmark guest for the cost of a VM exit: three tight loops, each instruction of
 * which exits to the VMM and comes back:
 *   CPUID (leaf 0)                      - always exits under VT-x (reason 10);
 *   OUT to COM1's scratch register      - an I/O exit to a device model (reason 30);
 *   MOV to CR3 over 5 address spaces    - one more than the 4 CR3 targets, so under the default
 *                                         LRU policy every load misses (reason 28).
 * Each loop runs N times, N being the first number of the command line (default 1000000).
 * `wasmvisor run guests/exitloop.elf --stats` then gives nanoseconds per exit of each kind.
 * Paging stays off, so the CR3 values are only values. */
#include "guest.h"

#define COM1_SCRATCH 0x3ff

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    u32 n = mb_cmdline_number(mb, 1000000);
    u32 count = n;
    __asm__ volatile("1:\n\txorl %%eax, %%eax\n\tcpuid\n\tdecl %%esi\n\tjnz 1b"
                     : "+S"(count) : : "eax", "ebx", "ecx", "edx");
    count = n;
    __asm__ volatile("1:\n\toutb %%al, %%dx\n\tdecl %%ecx\n\tjnz 1b"
                     : "+c"(count) : "d"(COM1_SCRATCH), "a"(0) : "memory");
    count = (n + 4) / 5;
    __asm__ volatile("1:\n\t"
                     "movl $0x10000, %%eax\n\tmovl %%eax, %%cr3\n\t"
                     "movl $0x20000, %%eax\n\tmovl %%eax, %%cr3\n\t"
                     "movl $0x30000, %%eax\n\tmovl %%eax, %%cr3\n\t"
                     "movl $0x40000, %%eax\n\tmovl %%eax, %%cr3\n\t"
                     "movl $0x50000, %%eax\n\tmovl %%eax, %%cr3\n\t"
                     "decl %%ecx\n\tjnz 1b"
                     : "+c"(count) : : "eax", "memory");
    kprintf("exitloop: %u CPUID, %u OUT, %u MOV to CR3\n", n, n, (n + 4) / 5 * 5);
    return 0;
}
