// Self-modifying and cross-modifying code as a guest sees it: code that has run often enough to be
// compiled is rewritten (a jump patched by another block, an immediate patched by its own block,
// a whole code page overwritten by REP MOVS, code written through a second virtual mapping of
// its frame), and the next run of it must be the new code, as on a real CPU. Each guest prints
// what its calls returned; wasmvisor must print the same with the compiling tier on and off, and
// what QEMU prints (checked against qemu-system-i386 itself when it is installed).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { C_JIT } from "../../assembly/vmcs-layout";
import { VirtualMachine } from "../../src/vmm/virtual-machine";
import { MemoryDisk } from "../../src/devices/block-backend";
import { assemble } from "../core/harness";
import { kernelElf } from "../support/images";
import { core, GUEST_CODE } from "../support/tiny-guest";

// Prints EAX as eight hex digits and a newline on COM1 (no other register changes).
const PRINT_HEX = `
print_hex:
  push %eax
  push %ecx
  push %edx
  mov %eax, %ecx
  mov $8, %ah
9: rol $4, %ecx
  mov %cl, %al
  and $15, %al
  add $0x30, %al
  cmp $0x39, %al
  jbe 8f
  add $7, %al
8: mov $0x3f8, %dx
  out %al, %dx
  dec %ah
  jnz 9b
  mov $10, %al
  out %al, %dx
  pop %edx
  pop %ecx
  pop %eax
  ret`;

// Stack, the test's body, then exit 0 through isa-debug-exit; `tail`: code and data after it.
const guest = (body: string, tail = "") => `mov $0x90000, %esp\n${body}\nmovb $0, %al\nout %al, $0xf4\n1: jmp 1b\n${PRINT_HEX}\n${tail}`;

// Calls `fn` n times, adding what it returns in EAX into EBX.
const callMany = (fn: string, n: number) => `xor %ebx, %ebx\nmov $${n}, %edi\n2: call ${fn}\nadd %eax, %ebx\ndec %edi\njnz 2b\nmov %ebx, %eax\ncall print_hex`;

const GUESTS: Record<string, { source: string; expected: string }> = {
  // A JMP rel8 is patched, by another block, to go elsewhere, and later patched back.
  "a patched jump": {
    source: guest(`${callMany("target", 100)}
movb $(path_b - target - 2), target + 1
${callMany("target", 100)}
movb $(path_a - target - 2), target + 1
${callMany("target", 50)}`, `
target: jmp path_a
path_a: mov $1, %eax
  ret
path_b: mov $0x10000, %eax
  ret`),
    expected: "00000064\n00640000\n00000032\n",
  },

  // A block stores into its own next instruction's immediate at every round, a new value every
  // 64 rounds (so that it is compiled in between): the MOV must load the value just written, so
  // the sum is that of n >> 6 for n from 1000 down to 1.
  "an immediate patched by its own block": {
    source: guest(`xor %edx, %edx
mov $1000, %ecx
2: mov %ecx, %eax
shr $6, %eax
movl %eax, 3f + 1
3: mov $0, %eax
add %eax, %edx
loop 2b
mov %edx, %eax
call print_hex`),
    expected: "00001CA7\n",
  },

  // A function in its own page at 2 MiB is called until compiled, then the whole page is
  // overwritten with REP MOVSD from another page holding a different function, and back.
  "a code page overwritten by REP MOVS": {
    source: guest(`mov $page_one, %esi
call copy_page
${callMany("0x200000", 100)}
mov $page_two, %esi
call copy_page
${callMany("0x200000", 100)}
mov $page_one, %esi
call copy_page
${callMany("0x200000", 40)}`, `
copy_page:
  mov $0x200000, %edi
  mov $1024, %ecx
  cld
  rep movsl
  ret
.balign 4096
page_one: mov $3, %eax
  ret
.balign 4096
page_two: mov $0x500, %eax
  add $2, %eax
  ret
.balign 4096`),
    expected: "0000012C\n0001F4C8\n00000078\n",
  },

  // Paging on, with the code frame at 2 MiB mapped twice: at 2 MiB, where it runs, and at
  // 0x3ff000, through which it is rewritten (and the other way round: run through the alias,
  // written through the identity mapping).
  "code written through a second virtual mapping": {
    source: guest(`mov $0x301000, %edi
mov $3, %eax
mov $1024, %ecx
2: mov %eax, (%edi)
add $0x1000, %eax
add $4, %edi
loop 2b
movl $0x200003, 0x301ffc
movl $0x301003, 0x300000
mov $0x300000, %eax
mov %eax, %cr3
mov %cr0, %eax
or $0x80000000, %eax
mov %eax, %cr0
movb $0xb8, 0x200000
movl $7, 0x200001
movb $0xc3, 0x200005
${callMany("0x200000", 100)}
movl $0x900, 0x3ff001
${callMany("0x200000", 100)}
${callMany("0x3ff000", 100)}
movl $0x30000, 0x200001
${callMany("0x3ff000", 100)}`),
    expected: "000002BC\n00038400\n00038400\n012C0000\n",
  },
};

const scratch = mkdtempSync(join(tmpdir(), "wasmvisor-smc-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const image = (source: string) => kernelElf(assemble(source, GUEST_CODE));

async function wasmvisorOutput(source: string, jit: boolean, disk?: MemoryDisk) {
  let output = "";
  const vm = await VirtualMachine.boot(image(source), { core, memoryMiB: 8, disk, serialOutput: (byte) => { output += String.fromCharCode(byte); } });
  vm.vmcs.set(C_JIT, jit ? 1 : 0);
  const result = vm.run({ maxInstructions: 5_000_000 });
  return { output, stop: result.stop, compiled: vm.statistics().compiledCode.compiledInstructions };
}

const haveQemu = spawnSync("qemu-system-i386", ["--version"], { encoding: "utf8" }).status === 0;
const skipNote = haveQemu ? "" : " [skipped: qemu-system-i386 is not on PATH]";

describe.each(Object.entries(GUESTS))("%s", (name, { source, expected }) => {
  it.each([["off", false], ["on", true]])("prints what QEMU prints with the compiling tier %s", async (_, jit) => {
    const run = await wasmvisorOutput(source, jit);
    expect(run.stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(run.output).toBe(expected);
    // with the tier on, the code was compiled before it was rewritten (else this tests nothing)
    if (jit) expect(run.compiled).toBeGreaterThan(500);
    else expect(run.compiled).toBe(0);
  });

  it.skipIf(!haveQemu)(`qemu-system-i386 prints the same${skipNote}`, () => {
    const elf = join(scratch, `${name.replace(/\W+/g, "-")}.elf`);
    writeFileSync(elf, image(source));
    const qemu = spawnSync("sh", ["guests/qemu-run.sh", elf], { encoding: "utf8", timeout: 60_000, env: { ...process.env, QEMU_TIMEOUT: "60" } });
    expect(qemu.stdout).toBe(expected);
    expect(qemu.status).toBe(1); // isa-debug-exit: (0 << 1) | 1
  }, 70_000);
});

// Code the VMM writes: a disk's sector read over a compiled function, by DMA (the paravirtual block
// device, which writes RAM from the host) and by ATA PIO (REP INSW, which the VMM emulates). The
// function returns 3 until sector 0 (MOV $0x500, %eax; RET) replaces it. QEMU has no paravirtual
// device, so only the two tiers are compared, with each other and with the sum the new code makes.
describe("code written into RAM by the VMM", () => {
  const SECTOR = new Uint8Array(512);
  SECTOR.set([0xb8, 0x00, 0x05, 0x00, 0x00, 0xc3]);
  // (the PICs mask the disks' interrupts: one left pending with IF clear would keep compiled code
  // off, waiting for the interrupt window)
  const before = `mov $0xff, %al
out %al, $0x21
out %al, $0xa1
movb $0xb8, 0x200000
movl $3, 0x200001
movb $0xc3, 0x200005
${callMany("0x200000", 1000)}`;
  const after = callMany("0x200000", 1000);
  const expected = "00000BB8\n00138800\n";
  const readers: Record<string, string> = {
    // one request in a ring at 0x300000: read sector 0 into 0x200000
    "DMA by the paravirtual block device": `movl $1, 0x300010
movl $0, 0x300018
movl $1, 0x300020
movl $0x200000, 0x300024
mov $0x300000, %eax
mov $0xa14, %dx
out %eax, %dx
mov $1, %eax
mov $0xa18, %dx
out %eax, %dx
mov $0xa1c, %dx
out %eax, %dx`,
    // READ SECTORS of LBA 0, then the data register read into 0x200000
    "REP INSW from the ATA disk": `mov $0x1f6, %dx
mov $0xe0, %al
out %al, %dx
mov $0x1f2, %dx
mov $1, %al
out %al, %dx
xor %al, %al
mov $0x1f3, %dx
out %al, %dx
inc %dx
out %al, %dx
inc %dx
out %al, %dx
mov $0x1f7, %dx
mov $0x20, %al
out %al, %dx
3: in %dx, %al
test $8, %al
jz 3b
mov $0x200000, %edi
mov $256, %ecx
mov $0x1f0, %dx
cld
rep insw`,
  };
  it.each(Object.entries(readers))("%s: the next calls run the code read", async (_, read) => {
    const source = guest(`${before}\n${read}\n${after}`);
    for (const jit of [false, true]) {
      const run = await wasmvisorOutput(source, jit, new MemoryDisk(SECTOR.slice()));
      expect(run.stop).toEqual({ kind: "guest-exit", code: 0 });
      expect(run.output).toBe(expected);
      if (jit) expect(run.compiled).toBeGreaterThan(5000);
    }
  });
});
