// Guests written to hurt the host (issue 15): each one makes every guest instruction, or every
// exit, cost the host as much work as it can. The tests run them under --timeout, signals and a
// memory cap and check the host keeps its promises. AT&T assembly for guestKernel(); the guest
// starts flat, at CPL 0, interrupts off. Each first prints "!" on COM1, so a test knows it runs.

const ANNOUNCE = "mov $0x3f8, %dx\nmov $0x21, %al\nout %al, %dx\n";

/** Console-write hypercalls of the longest allowed length, forever. */
export const CONSOLE_STORM = `
${ANNOUNCE}1: mov $1, %eax
mov $0x200000, %ebx
mov $0x10000, %ecx
vmcall
jmp 1b`;

/** One REP INSB of 2^31 - 1 bytes (unassigned port 0x80; the writes run on past RAM). */
export const HUGE_REP_INSB = `
${ANNOUNCE}cld
mov $0x200000, %edi
mov $0x7fffffff, %ecx
mov $0x80, %dx
rep insb
movb $0, %al
out %al, $0xf4`;

/** Inject-after hypercalls in a loop, each due far in the future: the host's schedule grows. */
export const INJECT_STORM = `
${ANNOUNCE}xor %esi, %esi
1: mov $5, %eax
mov $0x40, %ebx
mov $0x7fffffff, %ecx
sub %esi, %ecx
inc %esi
vmcall
jmp 1b`;

/** Keyboard echo commands and controller reads of the configuration byte, never reading an answer. */
export const KEYBOARD_STORM = `
${ANNOUNCE}1: mov $0xee, %al
out %al, $0x60
mov $0x20, %al
out %al, $0x64
jmp 1b`;

/** Identity PTEs for the first `count` pages, written into the page table at 3 MiB + 4 KiB. */
const identityPtes = (count: number, label: number) => `mov $0x301000, %edi
mov $3, %eax
mov $${count}, %ecx
${label}: mov %eax, (%edi)
add $4096, %eax
add $4, %edi
loop ${label}b`;

/**
 * Paging on, with sixteen page directories whose first 64 entries all point to one page table:
 * then, forever, a read in each of the 64 4-MiB regions (a shadow table each, per directory, so
 * 1024 shadows of one guest table), a rewrite of that table's first 64 entries (each write drops
 * the entry from every shadow made from it), and CR3 moved to the next directory.
 */
export const PAGE_TABLE_STORM = `
${ANNOUNCE}${identityPtes(1024, 1)}
mov $0x310000, %edi
mov $1024, %ecx
2: movl $0x301003, (%edi)
add $4, %edi
test $0xff, %edi
jnz 3f
add $0xf00, %edi
3: loop 2b
mov $0x310000, %eax
mov %eax, %cr3
mov %cr0, %eax
or $0x80000000, %eax
mov %eax, %cr0
xor %ebx, %ebx
4: xor %esi, %esi
mov $64, %ecx
5: mov (%esi), %eax
add $0x400000, %esi
loop 5b
${identityPtes(64, 6)}
inc %ebx
and $15, %ebx
mov %ebx, %eax
shl $12, %eax
add $0x310000, %eax
mov %eax, %cr3
jmp 4b`;

/** PV-disk doorbells in a loop, each for one 1 MiB read into RAM at 4 MiB. */
export const DISK_DOORBELL_STORM = `
${ANNOUNCE}mov $0xa14, %dx
mov $0x200000, %eax
out %eax, %dx
mov $0xa18, %dx
mov $1, %eax
out %eax, %dx
movl $1, 0x200010
movl $0, 0x200018
movl $0, 0x20001c
movl $2048, 0x200020
movl $0x400000, 0x200024
xor %esi, %esi
1: inc %esi
mov $0xa1c, %dx
mov %esi, %eax
out %eax, %dx
mov $0xa20, %dx
in %dx, %eax
jmp 1b`;

/**
 * Keeps the compiler busy: writes a two-instruction function (INC EAX; RET) every 256 bytes from
 * 2 MiB to 62 MiB (run it with 64 MiB of RAM) and calls it 40 times, past the compiling threshold,
 * so each is a new block to compile: 245,760 distinct blocks before it starts over.
 */
export const COMPILE_STORM = `
${ANNOUNCE}mov $0x90000, %esp
1: mov $0x200000, %edi
2: movl $0x90c340, (%edi)
mov $40, %ecx
3: call *%edi
loop 3b
add $0x100, %edi
cmp $0x3e00000, %edi
jb 2b
jmp 1b`;

/**
 * Endless self-modification: a function (MOV $n, %EAX; RET) called 40 times, past the compiling
 * threshold, then its immediate rewritten, forever: one block compiled anew, again and again.
 */
export const SELF_MODIFY_STORM = `
${ANNOUNCE}mov $0x90000, %esp
xor %esi, %esi
1: inc %esi
mov %esi, 3f + 1
mov $40, %ecx
2: call 3f
loop 2b
jmp 1b
3: mov $0, %eax
ret`;
