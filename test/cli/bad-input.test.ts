// Every kind of bad input `wasmvisor` refuses, each as a user would meet it: `node dist/cli.js` in a
// child process, which must exit with status 2, print nothing on stdout and exactly one line on
// stderr, the one given here. Kernels are built byte by byte (test/support/images.ts); the cases
// run side by side.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { scratchFolder, wasmvisor } from "../support/cli.js";
import { concat, elf32, exitWith, kernelElf, multibootHeader, u32s, x86 } from "../support/images.js";

const scratch = scratchFolder();
/** A FIFO nobody writes to: opening it for reading would wait for ever. */
const fifo = () => {
  const path = scratch.path("fifo");
  if (!existsSync(path)) execFileSync("mkfifo", [path]);
  return path;
};
const MB_HEADER_AT = 84; // in kernelElf's file: after the ELF header and one program header

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Status 2, nothing on stdout, and one line on stderr: `line` itself, or matching it whole. */
async function expectRefusal(args: string[], line: string | RegExp): Promise<void> {
  const { status, stdout, stderr } = await wasmvisor(...args);
  expect({ status, stdout }).toEqual({ status: 2, stdout: "" });
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(stderr.trimEnd()).toMatch(typeof line === "string" ? new RegExp(`^${escape(line)}$`) : line);
}

const withHeader = (code: Uint8Array) => concat(multibootHeader(0), code);
const patched = (file: Uint8Array, at: number, words: number[]) => {
  const copy = file.slice();
  copy.set(u32s(words), at);
  return copy;
};
const aout = (fields: Partial<Record<"headerAddr" | "loadAddr" | "loadEndAddr" | "bssEndAddr" | "entryAddr", number>>) =>
  concat(new Uint8Array(16).fill(0x90), multibootHeader(0x10000, { headerAddr: 0x200010, loadAddr: 0x200000, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0x200004, ...fields }), new Uint8Array(16));

const kernels: [string, () => Uint8Array, string[], string | RegExp][] = [
  ["an empty file", () => new Uint8Array(0), [], "not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB"],
  ["random bytes", () => new Uint8Array(4096).fill(0x5a), [], "not a Multiboot kernel: no Multiboot header (magic 0x1badb002) in the first 8 KiB"],
  ["a bad header checksum", () => patched(kernelElf(exitWith(0)), MB_HEADER_AT + 8, [0x12345678]), [], "not a Multiboot kernel: the header at offset 0x54 has a bad checksum"],
  ["a truncated ELF header", () => concat(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), new Uint8Array(12), multibootHeader(0)), [], "truncated ELF file: 28 bytes, shorter than the 52-byte ELF32 header"],
  ["program headers past the end", () => patched(kernelElf(exitWith(0)), 28, [0x10000]), [], "truncated ELF file: program headers end at 0x10020, file is 0x64 bytes"],
  ["a segment cut short", () => kernelElf(new Uint8Array(100).fill(0x90)).subarray(0, 120), [], "truncated ELF file: segment 0 needs bytes 0x54-0xc4, file is 0x78 bytes"],
  ["an ARM ELF", () => elf32({ entry: 0x10000c, machine: 40, segments: [{ paddr: 0x100000, data: withHeader(x86.hlt()) }] }), [], "ELF machine 40 is not i386 (EM_386 = 3)"],
  ["a 64-bit ELF", () => elf32({ entry: 0x10000c, eclass: 2, segments: [{ paddr: 0x100000, data: withHeader(x86.hlt()) }] }), [], "64-bit ELF (ELFCLASS64): Multiboot v1 kernels must be 32-bit ELF"],
  ["a big-endian ELF", () => elf32({ entry: 0x10000c, data: 2, segments: [{ paddr: 0x100000, data: withHeader(x86.hlt()) }] }), [], "ELF data encoding 2 is not little-endian (ELFDATA2LSB)"],
  ["a shared object", () => elf32({ entry: 0x10000c, type: 3, segments: [{ paddr: 0x100000, data: withHeader(x86.hlt()) }] }), [], "ELF type 3 is not an executable (ET_EXEC = 2)"],
  ["an entry point outside the image", () => elf32({ entry: 0x200000, segments: [{ paddr: 0x100000, data: withHeader(x86.hlt()) }] }), [], "entry point 0x200000 is outside the kernel image: no bytes are loaded there from the file (the image occupies 0x100000-0x10000d)"],
  ["overlapping segments", () => elf32({ entry: 0x100000, segments: [{ paddr: 0x100000, data: withHeader(x86.hlt()), memsz: 0x2000 }, { paddr: 0x101000, data: x86.hlt() }] }), [], "ELF segments 0 and 1 overlap in physical memory: 0x100000-0x102000 and 0x101000-0x101001"],
  ["a.out load_end_addr below load_addr", () => aout({ loadEndAddr: 0x1fffff }), [], "invalid Multiboot header: load_end_addr 0x1fffff is below load_addr 0x200000"],
  ["a.out header_addr below load_addr", () => aout({ headerAddr: 0x1ffff0 }), [], "invalid Multiboot header: header_addr 0x1ffff0 is below load_addr 0x200000"],
  ["a.out bss_end_addr below the image's end", () => aout({ loadEndAddr: 0x200020, bssEndAddr: 0x200010 }), [], "invalid Multiboot header: bss_end_addr 0x200010 is below the end of the loaded image 0x200020"],
  ["a.out entry outside the image", () => aout({ entryAddr: 0x100000 }), [], "entry point 0x100000 is outside the kernel image: no bytes are loaded there from the file (the image occupies 0x200000-0x200040)"],
  ["a kernel larger than guest memory", () => kernelElf(x86.hlt(), 3 << 20), ["--mem", "2"], "kernel too large for guest memory: it occupies 0x100000-0x40000d, guest RAM ends at 0x200000 (2 MiB; it needs at least 5 MiB)"],
  ["a kernel loaded beyond guest memory", () => elf32({ entry: 0x3000000, segments: [{ paddr: 0x3000000, data: withHeader(x86.hlt()) }] }), [], "kernel loaded beyond the end of guest memory: it occupies 0x3000000-0x300000d, guest RAM ends at 0x2000000 (32 MiB; it needs at least 49 MiB)"],
  ["a kernel that leaves no room for the boot information", () => kernelElf(x86.hlt(), (1 << 20) - 13), ["--mem", "2"], /kernel too large for guest memory: no room for the \d+-byte Multiboot information after it \(at 0x200000; guest RAM ends at 0x200000\)/],
];

describe("wasmvisor run refuses a kernel that cannot be booted", () => {
  it.concurrent.each(kernels)("%s", async (name, bytes, options, message) => {
    const path = scratch.file(`${name.replace(/\W+/g, "-")}.elf`, bytes());
    const prefix = `wasmvisor: ${path}: `;
    await expectRefusal(["run", path, ...options], typeof message === "string" ? prefix + message : new RegExp(`^${escape(prefix)}${message.source}$`));
  });

  it.concurrent("a missing file, a folder, a device, a FIFO, and (not as root) a file it may not read", async () => {
    await expectRefusal(["run", "no-such-kernel.elf"], "wasmvisor: cannot read kernel no-such-kernel.elf: no such file");
    await expectRefusal(["run", "src"], "wasmvisor: cannot read kernel src: is a directory");
    // Read, these would never end: /dev/zero has no end, and opening a FIFO waits for a writer.
    await expectRefusal(["run", "/dev/zero"], "wasmvisor: cannot read kernel /dev/zero: is a device, not a regular file");
    await expectRefusal(["run", fifo()], `wasmvisor: cannot read kernel ${fifo()}: is a FIFO, not a regular file`);
    await expectRefusal(["run", "--restore-state", fifo()], `wasmvisor: cannot read state file ${fifo()}: is a FIFO, not a regular file`);
    await expectRefusal(["run", "guests/hello.elf", "--disk", fifo(), "--disk-readonly"], `wasmvisor: cannot open disk image ${fifo()}: is a FIFO, not a regular file`);
    if (process.getuid?.() === 0) return; // root reads anything
    const locked = scratch.file("locked.elf", kernelElf(exitWith(0)));
    chmodSync(locked, 0);
    await expectRefusal(["run", locked], `wasmvisor: cannot read kernel ${locked}: permission denied`);
  });
});

const options: [string[], string][] = [
  [["--mem", "0"], "option '--mem <MiB>' argument '0' is invalid. expected a whole number of MiB from 2 to 2048."],
  [["--mem", "100000"], "option '--mem <MiB>' argument '100000' is invalid. expected a whole number of MiB from 2 to 2048."],
  [["--mem", "-4"], "option '--mem <MiB>' argument '-4' is invalid. expected a whole number of MiB from 2 to 2048."],
  [["--mem", "32MiB"], "option '--mem <MiB>' argument '32MiB' is invalid. expected a whole number of MiB from 2 to 2048."],
  [["--cr3-targets", "7"], "option '--cr3-targets <n>' argument '7' is invalid. expected a whole number from 0 to 4."],
  [["--cr3-targets", "-1"], "option '--cr3-targets <n>' argument '-1' is invalid. expected a whole number from 0 to 4."],
  [["--max-instructions", "-5"], "option '--max-instructions <n>' argument '-5' is invalid. expected a positive whole number of instructions."],
  [["--max-instructions", "0"], "option '--max-instructions <n>' argument '0' is invalid. expected a positive whole number of instructions."],
  [["--max-instructions", "many"], "option '--max-instructions <n>' argument 'many' is invalid. expected a positive whole number of instructions."],
  [["--timeout", "-1"], "option '--timeout <seconds>' argument '-1' is invalid. expected a positive number of seconds."],
  [["--timeout", "soon"], "option '--timeout <seconds>' argument 'soon' is invalid. expected a positive number of seconds."],
  [["--if-mode", "fast"], "option '--if-mode <mode>' argument 'fast' is invalid. Allowed choices are vt, trap, classic, bt."],
  [["--cpuid-vendor", "xen"], "option '--cpuid-vendor <vendor>' argument 'xen' is invalid. Allowed choices are wasmvisor, kvm, hyperv, vmware, none."],
  [["--cr3-policy", "random"], "option '--cr3-policy <policy>' argument 'random' is invalid. Allowed choices are lru, fifo."],
  [["--vmcs-shadowing", "maybe"], "option '--vmcs-shadowing <mode>' argument 'maybe' is invalid. Allowed choices are on, off."],
  [["--clock", "sundial"], "option '--clock <kind>' argument 'sundial' is invalid. Allowed choices are virtual, real."],
  [["--display", "sdl"], "option '--display <what>' argument 'sdl' is invalid. Allowed choices are vga."],
  [["--frobnicate"], "unknown option '--frobnicate'"],
  [["--mem"], "option '--mem <MiB>' argument missing"],
  [["extra.elf"], "too many arguments for 'run'. Expected 1 argument but got 2."],
  [["--disk", "no-such.img"], "cannot open disk image no-such.img: no such file"],
  [["--disk", "src", "--disk-readonly"], "cannot open disk image src: is a directory"],
  [["--disk", "/dev/zero"], "cannot open disk image /dev/zero: is a device, not a regular file"],
  [["--stats-json", "/no/such/folder/stats.json"], "--stats-json /no/such/folder/stats.json: cannot write in /no/such/folder: no such file"],
  [["--save-state", "/no/such/folder/state"], "--save-state /no/such/folder/state: cannot write in /no/such/folder: no such file"],
  [["--screenshot", "/no/such/folder/screen.png"], "--screenshot /no/such/folder/screen.png: cannot write in /no/such/folder: no such file"],
  [["--save-state", "src"], "--save-state src: is a directory"],
];

describe("wasmvisor refuses bad options and commands", () => {
  it.concurrent.each(options)("run guests/hello.elf %j", async (args, message) => {
    await expectRefusal(["run", "guests/hello.elf", ...args], `wasmvisor: ${message}`);
  });

  it.concurrent.each([
    [["boot", "guests/hello.elf"], "unknown command 'boot'"],
    [["run"], "missing required argument 'kernel' (or --restore-state <file>)"],
    [["bench", "--runs", "0"], "option '--runs <n>' argument '0' is invalid. expected a whole number of runs from 1 to 100."],
    [["bench", "--peers", "bochs"], `option '--peers <list>' argument 'bochs' is invalid. expected qemu, v86 or none, separated by commas; not "bochs".`],
  ])("%j", async (args, message) => {
    await expectRefusal(args, `wasmvisor: ${message}`);
  });
});

describe("wasmvisor run refuses a state file that cannot be restored", () => {
  let state: string;
  let bytes: Uint8Array;
  beforeAll(async () => {
    state = scratch.path("good.wvs");
    expect((await wasmvisor("run", "guests/hello.elf", "--max-instructions", "1000", "--save-state", state)).status).toBe(3);
    bytes = new Uint8Array(readFileSync(state));
  });
  const changed = (name: string, edit: (copy: Uint8Array) => Uint8Array) => scratch.file(name, edit(bytes.slice()));

  it.concurrent.each<[string, () => string[], string | RegExp]>([
    ["a missing file", () => ["--restore-state", "no-such.wvs"], "wasmvisor: cannot read state file no-such.wvs: no such file"],
    ["a kernel instead", () => ["--restore-state", "guests/hello.elf"], "wasmvisor: guests/hello.elf: not a wasmvisor state file (no WVSTATE magic at its start)"],
    ["a truncated file", () => ["--restore-state", changed("cut.wvs", (b) => b.subarray(0, 1000))], /^wasmvisor: .*cut\.wvs: truncated state file: the header promises \d+ bytes of state, the file has 976$/],
    ["a corrupt file", () => ["--restore-state", changed("flip.wvs", (b) => ((b[500] ^= 1), b))], /^wasmvisor: .*flip\.wvs: corrupt state file: the checksum of its contents is 0x[0-9a-f]+, the header says 0x[0-9a-f]+$/],
    ["a future version", () => ["--restore-state", changed("v2.wvs", (b) => ((b[8] = 2), b))], /^wasmvisor: .*v2\.wvs: state file format version 2 is not supported: this wasmvisor reads version 1$/],
    ["a kernel as well", () => ["guests/hello.elf", "--restore-state", state], "wasmvisor: give a kernel or --restore-state <file>, not both: a saved machine's RAM holds its kernel already"],
    ["--mem beside it", () => ["--restore-state", state, "--mem", "64"], "wasmvisor: option '--restore-state <file>' cannot be used with option '--mem <MiB>'"],
    ["--if-mode beside it", () => ["--restore-state", state, "--if-mode", "vt"], "wasmvisor: option '--restore-state <file>' cannot be used with option '--if-mode <mode>'"],
    ["saving over it", () => ["--restore-state", state, "--save-state", state], /^wasmvisor: --save-state .*good\.wvs is the --restore-state file: save to another file, the input is never overwritten$/],
    ["a disk the saved machine did not have", () => ["--restore-state", state, "--disk", scratch.file("disk.img", new Uint8Array(4096))], /^wasmvisor: .*good\.wvs: the saved machine had no disk; it cannot be restored with one$/],
  ])("%s", async (_what, args, message) => {
    await expectRefusal(["run", ...args()], message);
  });

  it("leaves the state file as it was when it refuses to save over it or into a folder", async () => {
    mkdirSync(scratch.path("sub"), { recursive: true });
    await expectRefusal(["run", "--restore-state", state, "--save-state", scratch.path("sub")], /^wasmvisor: --save-state .*sub: is a directory$/);
    await expectRefusal(["run", "--restore-state", state, "--save-state", state], /is the --restore-state file/);
    expect(Buffer.compare(readFileSync(state), bytes)).toBe(0);
  });
});
