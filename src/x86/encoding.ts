// The parts of one IA-32 instruction's encoding, laid out as the opcode map (assembly/opcode-map.ts)
// says: prefixes, opcode, ModR/M with SIB and displacement, immediates, and so its length. The
// demo's disassembler (disassembly.ts) prints from them and the compiling tier's decoder
// (src/jit/decode.ts) builds its IR from them. Not the core's decoder (that one lives in assembly/
// and executes).
import {
  ONE_BYTE, TWO_BYTE, MODRM, IMM_MASK, IMM8, IMM16, IMM_V, IMM_MOFFS, IMM_FAR, IMM_ENTER, IMM_IF_TEST, MOD_IGNORED,
  PREFIX,
} from "../../assembly/opcode-map.js";
import { ONE_BYTE_NAMES, TWO_BYTE_NAMES } from "../../assembly/opcode-names.js";

/**
 * A memory operand's address: base + index * 2^scale + disp, base or index -1 when absent. With
 * 16-bit addressing the pair r/m names (BX+SI, ...) is base and index, scale 0. `disp` is as
 * encoded: an 8-bit one sign-extended, a 16- or 32-bit one unsigned.
 */
export interface Address { base: number; index: number; scale: number; disp: number }

export interface Encoding {
  prefixes: number[];
  opsize: 2 | 4;
  addrsize: 2 | 4;
  twoByte: boolean; // 0F map
  opcode: number; // within its map
  /** The opcode map names the instruction (else the rest measures it as if it were reserved). */
  known: boolean;
  /** Its row in the opcode map. */
  row: number;
  /** The ModR/M fields, and the memory operand's address when r/m names memory. */
  modrm: { mod: number; reg: number; rm: number; address: Address | undefined } | undefined;
  /** In encoding order, unsigned. */
  immediates: { size: number; value: number }[];
  length: number;
}

const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3]; // BX BX BP BP SI DI BP BX
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1]; // SI DI SI DI

/**
 * The instruction at `bytes[start]`, in `bytes[start..end)`; bytes past the end read as 0. (A range
 * of a larger array, not a view of it: the compiling tier decodes its blocks in guest RAM, and a
 * view per instruction was a tenth of its decoding.)
 */
export function readEncoding(bytes: Uint8Array, start = 0, end = bytes.length): Encoding {
  let at = start;
  const read = (size: number): number => {
    let value = 0;
    for (let i = 0; i < size; i++) value |= (at + i < end ? bytes[at + i] : 0) << (8 * i);
    at += size;
    return size === 4 ? value >>> 0 : value;
  };
  const byte = () => (at < end ? bytes[at++] : (at++, -1)); // (-1, past the end: no map names it)
  const prefixes: number[] = [];
  while (at < end && ONE_BYTE[bytes[at]] & PREFIX) prefixes.push(bytes[at++]);
  const opsize = prefixes.includes(0x66) ? 2 : 4, addrsize = prefixes.includes(0x67) ? 2 : 4;
  const first = byte();
  const twoByte = first === 0x0f;
  const opcode = twoByte ? byte() : first;
  const known = Boolean(twoByte ? TWO_BYTE_NAMES[opcode] : ONE_BYTE_NAMES[opcode]);
  const row = (twoByte ? TWO_BYTE[opcode] : ONE_BYTE[opcode]) ?? 0;
  let modrm: Encoding["modrm"];
  if (row & MODRM) {
    const byte = read(1);
    const mod = byte >> 6, reg = (byte >> 3) & 7, rm = byte & 7;
    const memory = mod !== 3 && !(row & MOD_IGNORED);
    modrm = { mod, reg, rm, address: memory ? address(mod, rm, addrsize, read) : undefined };
  }
  const immediates = immediateSizes(row, modrm?.reg ?? 0, opsize, addrsize).map((size) => ({ size, value: read(size) }));
  return { prefixes, opsize, addrsize, twoByte, opcode, known, row, modrm, immediates, length: at - start };
}

/** The sizes of the immediates after the opcode and ModR/M, as the opcode map's row says. */
function immediateSizes(row: number, reg: number, opsize: number, addrsize: number): number[] {
  if (row & IMM_IF_TEST && reg >= 2) return [];
  switch (row & IMM_MASK) {
    case IMM8: return [1];
    case IMM16: return [2];
    case IMM_V: return [opsize];
    case IMM_MOFFS: return [addrsize];
    case IMM_FAR: return [opsize, 2];
    case IMM_ENTER: return [2, 1];
    default: return [];
  }
}

/** A ModR/M memory operand's address, reading its SIB byte and displacement. */
function address(mod: number, rm: number, addrsize: number, read: (size: number) => number): Address {
  const disp = () => (mod === 1 ? (read(1) << 24) >> 24 : mod === 2 ? read(addrsize) : 0);
  if (addrsize === 2) {
    if (mod === 0 && rm === 6) return { base: -1, index: -1, scale: 0, disp: read(2) };
    return { base: BASE16[rm], index: INDEX16[rm], scale: 0, disp: disp() };
  }
  if (rm === 4) {
    const sib = read(1);
    const scale = sib >> 6, index = (sib >> 3) & 7, base = sib & 7;
    const noBase = base === 5 && mod === 0;
    return { base: noBase ? -1 : base, index: index === 4 ? -1 : index, scale, disp: noBase ? read(4) : disp() };
  }
  if (rm === 5 && mod === 0) return { base: -1, index: -1, scale: 0, disp: read(4) };
  return { base: rm, index: -1, scale: 0, disp: disp() };
}
