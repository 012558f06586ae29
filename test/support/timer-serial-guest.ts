// A tiny guest that keeps every part of the machine busy, for the saved-state tests: the PIT
// interrupts at ~6 kHz (IRQ 0), COM1 sends a letter per tick from a ring buffer drained by its
// transmitter-empty interrupt (IRQ 4), the main loop scribbles pseudo-random words over 4 KiB of
// RAM, switches between two page directories (4 MiB pages) at every tick, reads the RTC every
// 16 ticks and halts on odd ticks until the next interrupt. After 300 ticks it waits for the
// output to drain and exits with status 0. About 2.5 million instructions.

import { kernelElf } from "./images.js";
import { GUEST_CODE, withTables } from "./tiny-guest.js";
import { assemble } from "../core/harness.js";

const TICKS = 0x280000;
const HEAD = 0x280004;
const TAIL = 0x280008;
const RTC_SECONDS = 0x28000c;
const RING = 0x281000;
const PAGE_DIRECTORIES = 0x290000;

const source = `
  mov $0x270000, %esp
${withTables({ 0x20: "irq0", 0x24: "irq4" })}
  mov $0x11, %al
  out %al, $0x20
  out %al, $0xa0
  mov $0x20, %al
  out %al, $0x21
  mov $0x28, %al
  out %al, $0xa1
  mov $0x04, %al
  out %al, $0x21
  mov $0x02, %al
  out %al, $0xa1
  mov $0x01, %al
  out %al, $0x21
  out %al, $0xa1
  mov $0xee, %al
  out %al, $0x21
  mov $0xff, %al
  out %al, $0xa1
  mov $0x34, %al
  out %al, $0x43
  mov $200, %al
  out %al, $0x40
  mov $0, %al
  out %al, $0x40
  mov $0x3fc, %dx
  mov $0x08, %al
  out %al, %dx
  movl $0x00000083, ${PAGE_DIRECTORIES}
  movl $0x00400083, ${PAGE_DIRECTORIES + 4}
  movl $0x00000083, ${PAGE_DIRECTORIES + 0x1000}
  movl $0x00400083, ${PAGE_DIRECTORIES + 0x1004}
  mov %cr4, %eax
  or $0x10, %eax
  mov %eax, %cr4
  mov $${PAGE_DIRECTORIES}, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  xor %esi, %esi
  mov $12345, %ebx
  sti
main:
  imul $1103515245, %ebx, %ebx
  add $12345, %ebx
  mov %ebx, %eax
  and $0xffc, %eax
  mov %ebx, 0x200000(%eax)
  mov ${TICKS}, %eax
  cmp %eax, %esi
  je main
  mov %eax, %esi
  and $1, %eax
  shl $12, %eax
  add $${PAGE_DIRECTORIES}, %eax
  mov %eax, %cr3
  mov %esi, %eax
  and $15, %eax
  jnz 1f
  mov $0, %al
  out %al, $0x70
  in $0x71, %al
  mov %al, ${RTC_SECONDS}
  mov %esi, %eax
  and $15, %eax
1:
  add $0x61, %al
  cli
  mov ${HEAD}, %edx
  mov %al, ${RING}(%edx)
  inc %edx
  and $0xfff, %edx
  mov %edx, ${HEAD}
  mov $0x3f9, %dx
  mov $0x02, %al
  out %al, %dx
  sti
  test $1, %esi
  jz 2f
  hlt
2:
  cmp $300, %esi
  jb main
3:
  mov ${HEAD}, %eax
  cmp ${TAIL}, %eax
  je 4f
  hlt
  jmp 3b
4:
  cli
  mov $0, %al
  out %al, $0xf4
  hlt
irq0:
  incl ${TICKS}
  push %eax
  mov $0x20, %al
  out %al, $0x20
  pop %eax
  iret
irq4:
  push %eax
  push %edx
  mov $0x3fa, %dx
  in %dx, %al
  mov ${TAIL}, %edx
  cmp ${HEAD}, %edx
  je 5f
  mov ${RING}(%edx), %al
  inc %edx
  and $0xfff, %edx
  mov %edx, ${TAIL}
  mov $0x3f8, %dx
  out %al, %dx
  jmp 6f
5:
  mov $0x3f9, %dx
  mov $0, %al
  out %al, %dx
6:
  mov $0x20, %al
  out %al, $0x20
  pop %edx
  pop %eax
  iret
`;

/** The guest as a Multiboot ELF kernel. */
export function timerSerialGuest(): Uint8Array {
  return kernelElf(assemble(source, GUEST_CODE));
}
