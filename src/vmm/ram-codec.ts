// Guest RAM in a state file, compressed the cheap way that suits it: RAM is mostly zeros (pages the
// guest never touched, bss, cleared page tables), so it is stored as records of "skip this many
// zero bytes, then copy these literal bytes", each count an unsigned LEB128. Zero runs shorter
// than MIN_ZERO_RUN stay inside the literal, where they cost less than a new record. A 32 MiB guest
// that used a few hundred KiB saves to about that much, in tens of milliseconds, and plain
// JavaScript does it in a browser as well as in Node.

import { SavedStateError } from "../devices/saved-values.js";

const MIN_ZERO_RUN = 16;

export function encodeRam(ram: Uint8Array): Uint8Array {
  const out = new Writer(Math.min(ram.length + 64, 1 << 20));
  const n = ram.length;
  // Zero runs are skipped a 32-bit word at a time, which is most of the work.
  const aligned = ram.byteOffset % 4 === 0 ? ram : ram.slice();
  const words = new Int32Array(aligned.buffer, aligned.byteOffset, n >>> 2);
  let i = 0;
  while (i < n) {
    const zerosFrom = i;
    while (i < n && ram[i] === 0 && (i & 3) !== 0) i++;
    while (i + 4 <= n && words[i >>> 2] === 0) i += 4;
    while (i < n && ram[i] === 0) i++;
    const literalFrom = i;
    let literalTo = i;
    while (literalTo < n) {
      if (ram[literalTo] !== 0) {
        literalTo++;
        continue;
      }
      let end = literalTo;
      while (end < n && ram[end] === 0 && end - literalTo < MIN_ZERO_RUN) end++;
      if (end === n || end - literalTo >= MIN_ZERO_RUN) break;
      literalTo = end; // a short run of zeros inside the literal
    }
    out.varint(literalFrom - zerosFrom);
    out.varint(literalTo - literalFrom);
    out.bytes(ram.subarray(literalFrom, literalTo));
    i = literalTo;
  }
  return out.result();
}

/**
 * Decodes into `ram`, which must be all zeros (a fresh machine's) and exactly the size the
 * encoding describes. Zero runs are skipped, not written: writing them would make the host commit
 * every page of guest RAM, 2 GiB for a 2048 MiB guest.
 */
export function decodeRam(encoded: Uint8Array, ram: Uint8Array, what = "guest RAM"): void {
  let at = 0;
  let to = 0;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= encoded.length || scale > 2 ** 35) throw new SavedStateError(`corrupt state file: ${what}'s encoding ends in the middle of a record`);
      const byte = encoded[at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
  };
  while (at < encoded.length) {
    const zeros = varint();
    const literal = varint();
    if (to + zeros + literal > ram.length || at + literal > encoded.length) {
      throw new SavedStateError(`corrupt state file: ${what}'s encoding goes past the machine's ${ram.length >> 20} MiB`);
    }
    ram.set(encoded.subarray(at, at + literal), to + zeros);
    to += zeros + literal;
    at += literal;
  }
  if (to !== ram.length) throw new SavedStateError(`corrupt state file: ${what} decodes to ${to} bytes, the machine has ${ram.length}`);
}

/** A growing byte buffer. */
class Writer {
  private buffer: Uint8Array;
  private length = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(Math.max(capacity, 64));
  }

  varint(value: number): void {
    this.reserve(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}
