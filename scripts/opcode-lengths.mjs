// Regenerates test/support/opcode-lengths.json: the length GNU objdump (an independent x86
// decoder) gives every one-byte and 0F opcode, each with a spread of ModR/M, SIB and displacement
// forms, ModR/M.reg values (for the groups) and operand/address-size prefixes. The tests compare
// the opcode map's users (assembly/cpu/length.ts, src/x86/disassembly.ts) against it.
// Run: node scripts/opcode-lengths.mjs (needs objdump from GNU binutils).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Each case sits alone in a slot of NOPs: whatever objdump makes of it, the NOPs after it decode one
// byte at a time, so the next slot starts an instruction again. Displacements and immediates are
// NOP bytes too.
const SLOT = 24;
const PREFIXES = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3];
// What follows ModR/M does not depend on the opcode: every ModR/M form (mod 0 with a base register,
// disp32 alone, SIB with a disp32 base, SIB; mod 1; mod 2; mod 3; under 0x67 the 16-bit ones,
// [bx+si], [di], disp16) is tried with one opcode, ADD Ev,Gv. The other opcodes get mod 0, mod 2
// with SIB, and reg 2 (group 3's NOT, no immediate) and reg 4 (group 8's BT) with mod 3.
const ALL_MODRMS = [[0x00], [0x05], [0x04, 0x25], [0x04, 0x00], [0x06], [0x40], [0x80], [0xc0], [0x44, 0x00], [0x84, 0x00]];
const MODRMS = [[0x00], [0x84, 0x00], [0xd0], [0xe0]];
// The operand size changes only immediates, the address size only moffs and what follows ModR/M.
const modrms = (prefix, op) => (op === 0x01 ? ALL_MODRMS : prefix.length > 0 ? [[0x00]] : MODRMS);
// A VEX prefix to a CPU with AVX, which this map does not describe.
const VEX_LIKE = new Set([0x62, 0xc4, 0xc5]);

const cases = [];
for (const prefix of [[], [0x66], [0x67]]) {
  for (let op = 0; op < 256; op++) {
    if (PREFIXES.includes(op)) continue;
    const opcodes = op === 0x0f ? Array.from({ length: 256 }, (_, op2) => [0x0f, op2]) : [[op]];
    for (const opcode of opcodes) {
      const threeByte = opcode[1] === 0x38 ? [0x00] : opcode[1] === 0x3a ? [0x0f] : []; // PSHUFB, PALIGNR
      for (const modrm of modrms(prefix, op)) {
        if (VEX_LIKE.has(op) && modrm[0] >= 0xc0) continue;
        // 8F with reg other than 0 is AMD's XOP prefix to objdump
        if (op === 0x8f && (modrm[0] & 0x38) !== 0) continue;
        cases.push([...prefix, ...opcode, ...threeByte, ...modrm]);
      }
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), "wasmvisor-opcodes-"));
const lengths = {};
try {
  const code = new Uint8Array(cases.length * SLOT).fill(0x90);
  cases.forEach((bytes, i) => code.set(bytes, i * SLOT));
  writeFileSync(join(dir, "code.bin"), code);
  const out = execFileSync("objdump", ["-D", "-b", "binary", "-mi386", join(dir, "code.bin")], { encoding: "utf8", maxBuffer: 1 << 30 });
  const starts = new Map();
  let last;
  // an instruction's line has its text after a second tab; a line of more of its bytes has none
  for (const [, at, text] of out.matchAll(/^\s+([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(.*)$/gm)) {
    const offset = parseInt(at, 16);
    if (last) last.end = offset;
    last = { offset, bad: /\(bad\)/.test(text) };
    starts.set(offset, last);
  }
  cases.forEach((bytes, i) => {
    const decoded = starts.get(i * SLOT);
    if (!decoded || decoded.bad) return;
    const length = decoded.end - decoded.offset;
    // cases that differ only in bytes past the instruction (NOPs in the test too) are one case
    const key = bytes.slice(0, length).map((b) => b.toString(16).padStart(2, "0")).join(" ");
    lengths[key] = length;
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const target = join(dirname(fileURLToPath(import.meta.url)), "../test/support/opcode-lengths.json");
writeFileSync(target, `${JSON.stringify(lengths, null, 0).replace(/,"/g, ',\n"')}\n`);
console.log(`${Object.keys(lengths).length} cases to ${target}`);
