// The state file's bytes: header, checksum, sections, RAM encoding, and one-line refusals of
// anything that is not a good state file, before a machine is made from it.

import { describe, expect, it } from "vitest";
import { decodeRam, encodeRam } from "../../src/vmm/ram-codec.js";
import { SavedStateError } from "../../src/devices/saved-values.js";
import { crc32, decodeStateFile, encodeStateFile, STATE_HEADER_BYTES } from "../../src/vmm/state-file.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { core } from "../support/tiny-guest.js";
import { exitWith, kernelElf } from "../support/images.js";

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SavedStateError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a SavedStateError");
}

const sample = () => encodeStateFile({ machine: "x" }, new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]));

/** A copy of `file` with `edit` applied and, if `fixCrc`, the checksum made right again. */
function tampered(file: Uint8Array, edit: (bytes: Uint8Array) => void, fixCrc = false): Uint8Array {
  const copy = file.slice();
  edit(copy);
  if (fixCrc) new DataView(copy.buffer).setUint32(12, crc32(copy.subarray(STATE_HEADER_BYTES)), true);
  return copy;
}

describe("the state file format", () => {
  it("starts with the magic, version 1, the payload's CRC-32 and length", () => {
    const file = sample();
    expect(new TextDecoder().decode(file.subarray(0, 7))).toBe("WVSTATE");
    const view = new DataView(file.buffer);
    expect([file[7], view.getUint32(8, true)]).toEqual([0x1a, 1]);
    expect(view.getUint32(12, true)).toBe(crc32(file.subarray(24)));
    expect(Number(view.getBigUint64(16, true))).toBe(file.length - 24);
    expect(decodeStateFile(file)).toEqual({ json: { machine: "x" }, cpu: new Uint8Array([1, 2, 3]), ram: new Uint8Array([4, 5]) });
  });

  it("computes CRC-32 as zlib does", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it.each([
    ["an empty file", new Uint8Array(0), "not a wasmvisor state file (no WVSTATE magic at its start)"],
    ["a kernel instead", kernelElf(exitWith(0)), "not a wasmvisor state file (no WVSTATE magic at its start)"],
    ["a file cut inside the header", sample().subarray(0, 20), "truncated state file: 20 bytes, shorter than the 24-byte header"],
    ["a file cut inside the state", sample().subarray(0, 40), /^truncated state file: the header promises \d+ bytes of state, the file has 16$/],
    ["bytes after the state", new Uint8Array([...sample(), 0]), /^corrupt state file: 1 unexpected bytes after the \d+ bytes of state$/],
    ["another version", tampered(sample(), (b) => (b[8] = 2)), "state file format version 2 is not supported: this wasmvisor reads version 1"],
    ["a flipped bit", tampered(sample(), (b) => (b[30] ^= 4)), /^corrupt state file: the checksum of its contents is 0x[0-9a-f]+, the header says 0x[0-9a-f]+$/],
    ["a section past the end", tampered(sample(), (b) => (b[24] = 200), true), "corrupt state file: section 1 runs past the end of the file"],
    ["bad JSON", tampered(sample(), (b) => (b[28] = 0x7d), true), "corrupt state file: the machine description is not valid JSON"],
  ])("refuses %s", (_what, file, message) => {
    expect(refusal(() => decodeStateFile(file))).toMatch(message);
  });
});

describe("guest RAM's encoding", () => {
  it.each([
    ["all zeros", () => new Uint8Array(1 << 20)],
    ["no zeros", () => new Uint8Array(4096).fill(0x5a)],
    ["short zero runs inside data", () => new Uint8Array(10_000).map((_, i) => (i % 7 === 0 ? i & 0xff : 0))],
    ["data at both ends", () => Object.assign(new Uint8Array(1 << 16), { 0: 1, 65535: 2 })],
    ["nothing", () => new Uint8Array(0)],
  ])("round-trips %s", (_what, make) => {
    const ram = make();
    const back = new Uint8Array(ram.length);
    decodeRam(encodeRam(ram), back);
    expect(Buffer.compare(back, ram)).toBe(0);
  });

  it("stores a mostly empty RAM in a few bytes per non-zero run", () => {
    const ram = new Uint8Array(32 << 20);
    ram.set([1, 2, 3, 4], 0x100000);
    expect(encodeRam(ram).length).toBeLessThan(16);
  });

  it("refuses an encoding of the wrong size or cut short", () => {
    const encoded = encodeRam(new Uint8Array(4096).fill(1));
    expect(refusal(() => decodeRam(encoded, new Uint8Array(8192)))).toBe("corrupt state file: guest RAM decodes to 4096 bytes, the machine has 8192");
    expect(refusal(() => decodeRam(encoded, new Uint8Array(1024)))).toBe("corrupt state file: guest RAM's encoding goes past the machine's 0 MiB");
    expect(refusal(() => decodeRam(encoded.subarray(0, 100), new Uint8Array(4096)))).toBe("corrupt state file: guest RAM's encoding goes past the machine's 0 MiB");
    expect(refusal(() => decodeRam(new Uint8Array([0x80]), new Uint8Array(4096)))).toBe("corrupt state file: guest RAM's encoding ends in the middle of a record");
  });
});

describe("VirtualMachine.restore refuses state files that are not right", () => {
  const save = async () => {
    const vm = await VirtualMachine.boot(kernelElf(exitWith(0)), { core, memoryMiB: 4 });
    return vm.saveState();
  };

  /** A state file whose JSON was changed by `edit`, with a correct checksum. */
  const edited = async (edit: (state: Record<string, any>) => void) => {
    const file = await save();
    const { json, cpu, ram } = decodeStateFile(file);
    edit(json as Record<string, any>);
    return encodeStateFile(json, cpu, ram);
  };

  it.each([
    ["a device field of the wrong type", (s: Record<string, any>) => (s.devices.pit.channels[0].count = "big"), "corrupt state file: devices.pit.channels[0].count should be a number"],
    ["a missing device", (s: Record<string, any>) => delete s.devices.rtc, 'corrupt state file: devices lacks the field "rtc"'],
    ["an unknown field", (s: Record<string, any>) => (s.vmm.extra = 1), 'corrupt state file: vmm has an unknown field "extra"'],
    ["a list of the wrong length", (s: Record<string, any>) => s.devices.rtc.ram.pop(), "corrupt state file: devices.rtc.ram should have 128 entries, not 127"],
    ["a nested value where a plain one belongs", (s: Record<string, any>) => (s.devices.com1.fifo = [[1]]), "corrupt state file: devices.com1.fifo[0] should be a number"],
    ["an impossible memory size", (s: Record<string, any>) => (s.machine.memoryMiB = 0), "corrupt state file: guest memory must be a whole number of MiB from 1 to 2048, not 0"],
    ["an unknown IF mode", (s: Record<string, any>) => (s.machine.config.ifMode = "fast"), 'corrupt state file: ifMode must be one of vt, trap, classic, bt, not "fast"'],
    ["an unknown clock", (s: Record<string, any>) => (s.machine.clock = "sundial"), 'corrupt state file: unknown clock "sundial"'],
    ["no machine", (s: Record<string, any>) => delete s.machine, "corrupt state file: it describes no machine"],
  ])("%s", async (_what, edit, message) => {
    await expect(VirtualMachine.restore(await edited(edit), { core })).rejects.toThrow(new SavedStateError(message));
  });

  it("a CPU section of the wrong size", async () => {
    const { json, ram } = decodeStateFile(await save());
    await expect(VirtualMachine.restore(encodeStateFile(json, new Uint8Array(100), ram), { core })).rejects.toThrow(
      "corrupt state file: the CPU section is 100 bytes, not 12288",
    );
  });
});
