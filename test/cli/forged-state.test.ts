// `wasmvisor run --restore-state` with forged state files (the checksum made right around values
// no machine could have produced), as the issue reproduced them: a PIT count of 0 and an RTC
// periodic event at -1e300 ran past --timeout and ignored SIGTERM; a restored ATA write transfer
// past the end of a 16 MiB image grew the file; one on a read-only image failed with an internal
// EBADF. Each is now one line on stderr and status 2, at once, and the image is left as it was.

import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeStateFile, encodeStateFile } from "../../src/vmm/state-file.js";
import { scratchFolder, startWasmvisor, type CliResult } from "../support/cli.js";
import { concat, exitWith, kernelElf, MB_MAGIC, x86 } from "../support/images.js";

const scratch = scratchFolder();
const IMAGE_SECTORS = 32768; // 16 MiB

type State = Record<string, any>;

/** Runs wasmvisor, killing it if it outlives `seconds` (what the forged files used to do). */
async function run(seconds: number, ...args: string[]): Promise<CliResult> {
  const child = startWasmvisor(...args);
  const killer = setTimeout(() => child.process.kill("SIGKILL"), seconds * 1000);
  const result = await child.done;
  clearTimeout(killer);
  return result;
}

function expectRefusal({ status, signal, stdout, stderr }: CliResult, line: RegExp): void {
  expect({ status, signal, stdout }).toEqual({ status: 2, signal: null, stdout: "" });
  expect(stderr).toMatch(new RegExp(`^wasmvisor: .*: ${line.source}\n$`));
}

/** A copy of the state file at `path` with its JSON changed by `edit`, the checksum right. */
function forge(path: string, name: string, edit: (state: State) => void): string {
  const { json, cpu, ram } = decodeStateFile(new Uint8Array(readFileSync(path)));
  edit(json as State);
  return scratch.file(name, encodeStateFile(json, cpu, ram));
}

/** Saves `kernel` after one instruction, with the disk options given. */
async function saveEarly(kernel: string, name: string, ...diskArgs: string[]): Promise<string> {
  const path = scratch.path(name);
  const { status, stderr } = await run(60, "run", kernel, "--max-instructions", "1", "--save-state", path, ...diskArgs);
  expect(status, stderr).toBe(3);
  return path;
}

describe("wasmvisor run --restore-state refuses forged timers at once", () => {
  it.concurrent.each<[string, (s: State) => void, RegExp]>([
    [
      "a PIT count of 0",
      (s) => Object.assign(s.devices.pit.channels[0], { mode: 2, count: 0, edge: { period: 1, order: 0 } }), // every edge at the load's time
      /corrupt state file: devices\.pit\.channels\[0\]\.count is 0, not a whole number from 1 to 65536/,
    ],
    [
      "an RTC periodic event at -1e300",
      (s) => {
        s.devices.rtc.ram[0x0b] |= 0x40; // periodic interrupts on, so that the event may be pending
        s.devices.rtc.periodic = { at: -1e300, order: 0 };
      },
      /corrupt state file: devices\.rtc\.periodic\.at is -1e\+300, not a number from 0 to [\d.]+/,
    ],
  ])("%s", async (name, edit, line) => {
    const state = forge(await saveEarly("guests/hello.elf", `${name}-good.wvs`), `${name}.wvs`, edit);
    const started = performance.now();
    expectRefusal(await run(30, "run", "--restore-state", state, "--timeout", "1"), line);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe("a restored machine writes nothing outside its disk image", () => {
  // Writes one sector from RAM to the ATA data port with REP OUTSW, then exits: it continues
  // whatever write transfer the restored ATA disk has in progress.
  const writer = scratch.file(
    "ata-writer.elf",
    kernelElf(concat(x86.movDx(0x1f0), x86.movEsi(0x100000), x86.movEcx(256), new Uint8Array([0x66, 0xf3, 0x6f]), exitWith(0))),
  );
  const image = (name: string) => scratch.file(name, new Uint8Array(IMAGE_SECTORS * 512));
  const writing = (lba: number, left: number) => (s: State) => {
    s.devices.ata.transfer = { write: true, lba, left };
    s.devices.ata.bufferAt = 0;
  };

  it.concurrent("refuses a write transfer running past the end of the image, which stays 16 MiB", async () => {
    const disk = image("past-end.img");
    const state = forge(await saveEarly(writer, "past-end-good.wvs", "--disk", disk), "past-end.wvs", writing(IMAGE_SECTORS - 1, 255));
    expectRefusal(await run(30, "run", "--restore-state", state, "--disk", disk), /corrupt state file: devices\.ata\.transfer\.lba is 32767, not a whole number from 0 to 32512/);
    expect(statSync(disk).size).toBe(IMAGE_SECTORS * 512);
  });

  it.concurrent("takes a write transfer of the image's last sector, which the guest completes in place", async () => {
    const disk = image("last-sector.img");
    const state = forge(await saveEarly(writer, "last-sector-good.wvs", "--disk", disk), "last-sector.wvs", writing(IMAGE_SECTORS - 1, 0));
    const { status, stderr } = await run(30, "run", "--restore-state", state, "--disk", disk);
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    const bytes = readFileSync(disk);
    expect(bytes.length).toBe(IMAGE_SECTORS * 512);
    expect(bytes.readUInt32LE(bytes.length - 512)).toBe(MB_MAGIC); // RAM at 1 MiB: the kernel's Multiboot header
  });

  it.concurrent("refuses a write transfer on a read-only image", async () => {
    const disk = image("read-only.img");
    const state = forge(await saveEarly(writer, "read-only-good.wvs", "--disk", disk, "--disk-readonly"), "read-only.wvs", writing(0, 0));
    expectRefusal(
      await run(30, "run", "--restore-state", state, "--disk", disk, "--disk-readonly"),
      /corrupt state file: devices\.ata\.transfer\.write is true on a read-only disk, which refuses every write command/,
    );
    expect(readFileSync(disk).every((byte) => byte === 0)).toBe(true);
  });
});
