// A guest for the console's flow-control tests: BYTES of "X" then "DONE\n", written with the
// console hypercall (EAX 1, EBX the bytes, ECX how many, at most 64 KiB; EAX answers how many the
// host took, 0 when its console has no room), again and again until all are taken; then HLT with
// interrupts off, which stops the machine.

/** Twice the browser worker's console window (256 KiB) and more. */
export const CONSOLE_FLOOD_BYTES = 0x80000;

export function consoleFloodSource(bytes: number): string {
  return [
    `mov $0x200000, %edi\nmov $${bytes}, %ecx\nmov $0x58, %al\ncld\nrep stosb`,
    "movl $0x454e4f44, (%edi)\nmovb $0x0a, 4(%edi)",
    `mov $0x200000, %ebx\nmov $${bytes + 5}, %esi`,
    "1: mov $1, %eax\nmov %esi, %ecx\ncmp $0x10000, %ecx\njbe 2f\nmov $0x10000, %ecx",
    "2: vmcall\nadd %eax, %ebx\nsub %eax, %esi\njnz 1b",
    "3: hlt\njmp 3b",
  ].join("\n");
}
