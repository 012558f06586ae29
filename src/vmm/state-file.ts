// The bytes of a saved machine (`wasmvisor run --save-state`, vm.saveState()): a fixed header
// that says what the file is and lets a reader check it whole before trusting any of it, then the
// payload in sections. All integers are little-endian.
//
//   offset  size  field
//   0       8     magic: "WVSTATE" and 0x1A
//   8       4     format version: 1
//   12      4     CRC-32 (IEEE 802.3, as zlib's) of the payload
//   16      8     payload length in bytes
//   24      ...   payload: three sections, each a u32 byte length and then the bytes:
//                   1. the machine (memory size, VMM configuration, disk) and the VMM's and every
//                      device's state, as UTF-8 JSON (saved-state.ts)
//                   2. the CPU: the VMCS region and I/O bitmaps A and B, raw (12 KiB)
//                   3. guest RAM, zero-run encoded (ram-codec.ts)
//
// Everything here is plain JavaScript (no node: modules), so browsers can save and restore too.
// A file that is not one, of another version, cut short, too long or with a wrong checksum is
// refused with a one-line SavedStateError before anything is restored.

import { SavedStateError } from "../devices/saved-values.js";
import { hex } from "../loader/load-error.js";

export const STATE_MAGIC = new Uint8Array([0x57, 0x56, 0x53, 0x54, 0x41, 0x54, 0x45, 0x1a]);
export const STATE_FORMAT_VERSION = 1;
export const STATE_HEADER_BYTES = 24;


export interface StateSections {
  json: unknown;
  cpu: Uint8Array;
  /** Guest RAM, still encoded (ram-codec.ts). */
  ram: Uint8Array;
}

export function encodeStateFile(json: unknown, cpu: Uint8Array, ram: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(json));
  const sections = [text, cpu, ram];
  const payloadBytes = sections.reduce((n, s) => n + 4 + s.length, 0);
  const file = new Uint8Array(STATE_HEADER_BYTES + payloadBytes);
  const view = new DataView(file.buffer);
  let at = STATE_HEADER_BYTES;
  for (const section of sections) {
    view.setUint32(at, section.length, true);
    file.set(section, at + 4);
    at += 4 + section.length;
  }
  file.set(STATE_MAGIC, 0);
  view.setUint32(8, STATE_FORMAT_VERSION, true);
  view.setUint32(12, crc32(file.subarray(STATE_HEADER_BYTES)), true);
  view.setBigUint64(16, BigInt(payloadBytes), true);
  return file;
}

export function decodeStateFile(file: Uint8Array): StateSections {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magicLength = Math.min(file.length, STATE_MAGIC.length);
  if (file.length === 0 || STATE_MAGIC.subarray(0, magicLength).some((byte, i) => file[i] !== byte)) {
    throw new SavedStateError("not a wasmvisor state file (no WVSTATE magic at its start)");
  }
  if (file.length < STATE_HEADER_BYTES) {
    throw new SavedStateError(`truncated state file: ${file.length} bytes, shorter than the ${STATE_HEADER_BYTES}-byte header`);
  }
  const version = view.getUint32(8, true);
  if (version !== STATE_FORMAT_VERSION) {
    throw new SavedStateError(`state file format version ${version} is not supported: this wasmvisor reads version ${STATE_FORMAT_VERSION}`);
  }
  const payloadBytes = Number(view.getBigUint64(16, true));
  const actual = file.length - STATE_HEADER_BYTES;
  if (actual < payloadBytes) throw new SavedStateError(`truncated state file: the header promises ${payloadBytes} bytes of state, the file has ${actual}`);
  if (actual > payloadBytes) throw new SavedStateError(`corrupt state file: ${actual - payloadBytes} unexpected bytes after the ${payloadBytes} bytes of state`);
  const payload = file.subarray(STATE_HEADER_BYTES);
  const [expected, found] = [view.getUint32(12, true), crc32(payload)];
  if (expected !== found) throw new SavedStateError(`corrupt state file: the checksum of its contents is ${hex(found)}, the header says ${hex(expected)}`);

  const sections: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < 3; i++) {
    const length = at + 4 <= payload.length ? view.getUint32(STATE_HEADER_BYTES + at, true) : Infinity;
    if (at + 4 + length > payload.length) throw new SavedStateError(`corrupt state file: section ${i + 1} runs past the end of the file`);
    sections.push(payload.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== payload.length) throw new SavedStateError("corrupt state file: bytes left over after its three sections");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(sections[0]));
  } catch {
    throw new SavedStateError("corrupt state file: the machine description is not valid JSON");
  }
  return { json, cpu: sections[1], ram: sections[2] };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as zlib and PNG compute it. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
