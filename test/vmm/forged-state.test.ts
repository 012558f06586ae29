// State files whose checksum is right but whose values no machine could have produced: each is
// refused with one SavedStateError line naming the value, before the machine runs. The issue's
// reproductions among them: a PIT count of 0 and an RTC periodic event at -1e300 (both hung the
// host), an ATA transfer past the end of the disk or writing a read-only one, an oversized
// keyboard queue (a stack overflow). And the other way round: what the VMM itself saves always
// restores, with its queues as full as a guest can make them.

import { describe, expect, it } from "vitest";
import { MemoryDisk } from "../../src/devices/block-backend.js";
import { SavedStateError } from "../../src/devices/saved-values.js";
import { decodeStateFile, encodeStateFile } from "../../src/vmm/state-file.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { timerSerialGuest } from "../support/timer-serial-guest.js";
import { bootTiny, core } from "../support/tiny-guest.js";

type State = Record<string, any>;

const DISK_SECTORS = 2048;
const disk = (readOnly = false) => new MemoryDisk(new Uint8Array(DISK_SECTORS * 512), readOnly);

/** The timer-and-serial guest with a disk, saved after a million instructions: every part busy. */
async function saved(readOnly = false): Promise<Uint8Array> {
  const vm = await VirtualMachine.boot(timerSerialGuest(), { core, memoryMiB: 8, disk: disk(readOnly) });
  vm.run({ maxInstructions: 1_000_000 });
  return vm.saveState();
}

/** `file` with its JSON changed by `edit` and the checksum made right again. */
function forged(file: Uint8Array, edit: (state: State) => void): Uint8Array {
  const { json, cpu, ram } = decodeStateFile(file);
  edit(json as State);
  return encodeStateFile(json, cpu, ram);
}

const RTC_STATUS_A = 0x0a;
const RTC_STATUS_B = 0x0b;
/** The RTC with periodic interrupts on (1024 Hz), so that its periodic event may be pending. */
const periodicOn = (s: State) => {
  s.devices.rtc.ram[RTC_STATUS_A] = 0x26;
  s.devices.rtc.ram[RTC_STATUS_B] = 0x42;
};

describe("VirtualMachine.restore refuses values no machine could have produced", () => {
  const file = saved();

  it.each<[string, (s: State) => void, string | RegExp]>([
    ["a PIT count of 0", (s) => (s.devices.pit.channels[0].count = 0), "corrupt state file: devices.pit.channels[0].count is 0, not a whole number from 1 to 65536"],
    ["a PIT edge past the next one", (s) => (s.devices.pit.channels[0].edge.period = 1e6), /^corrupt state file: devices\.pit\.channels\[0\]\.edge\.period is 1000000, not a whole number from 1 to \d+$/],
    ["a PIT edge in a mode that raises none", (s) => (s.devices.pit.channels[0].mode = 4), "corrupt state file: devices.pit.channels[0].edge is pending in mode 4, which raises no interrupt"],
    ["a PIT count loaded in the future", (s) => (s.devices.pit.channels[0].loadedAt = 1e15), /^corrupt state file: devices\.pit\.channels\[0\]\.loadedAt is 1000000000000000, not a number from 0 to \d+$/],
    ["an RTC periodic event at -1e300", (s) => (periodicOn(s), (s.devices.rtc.periodic = { at: -1e300, order: 0 })), /^corrupt state file: devices\.rtc\.periodic\.at is -1e\+300, not a number from 0 to \d+(\.\d+)?$/],
    ["an RTC periodic event with periodic interrupts off", (s) => (s.devices.rtc.periodic = { at: 0, order: 0 }), "corrupt state file: devices.rtc.periodic is pending with periodic interrupts off in status registers A and B"],
    ["an RTC calendar past what a date holds", (s) => (s.devices.rtc.epochMs = 1e300), "corrupt state file: devices.rtc.epochMs is 1e+300, not a number from -8640000000000000 to 8640000000000000"],
    ["a keyboard queue of a million bytes", (s) => (s.devices.keyboard.keyboardQueue = new Array(1_000_000).fill(0x1c)), "corrupt state file: devices.keyboard.keyboardQueue has 1000000 entries, more than the 72 it can hold"],
    ["a controller queue entry with no aux flag", (s) => (s.devices.keyboard.controllerQueue = [{ byte: 0x55 }]), "corrupt state file: devices.keyboard.controllerQueue[0].aux is undefined, not true or false"],
    ["a serial FIFO longer than the FIFO", (s) => ((s.devices.com1.fcr = 1), (s.devices.com1.fifo = new Array(17).fill(0x41))), "corrupt state file: devices.com1.fifo has 17 entries, more than the 16 it can hold"],
    ["a PIC vector base with its IRQ bits set", (s) => (s.devices.pic.master.vectorBase = 33), "corrupt state file: devices.pic.master.vectorBase is 33: ICW2 leaves the low three bits to the IRQ"],
    ["a VGA index wider than a byte", (s) => (s.devices.vga.crtcIndex = 256), "corrupt state file: devices.vga.crtcIndex is 256, not a whole number from 0 to 255"],
    ["an ATA transfer past the end of the disk", (s) => (s.devices.ata.transfer = { write: true, lba: DISK_SECTORS - 1, left: 255 }), `corrupt state file: devices.ata.transfer.lba is ${DISK_SECTORS - 1}, not a whole number from 0 to ${DISK_SECTORS - 256}`],
    ["an ATA buffer position inside a word", (s) => (s.devices.ata.bufferAt = 3), "corrupt state file: devices.ata.bufferAt is 3: the data port moves whole words"],
    ["a paravirtual ring size that is not a power of two", (s) => (s.devices.pvBlock.slots = 3), "corrupt state file: devices.pvBlock.slots is 3, not 0 or a power of two"],
    ["a fractional request count", (s) => (s.devices.pvBlock.requests = 1.5), "corrupt state file: devices.pvBlock.requests is 1.5, not a whole number from 0 to 9007199254740991"],
    ["a clock the instructions retired do not add up to", (s) => (s.vmm.clock.idleNs += 1), /^corrupt state file: vmm\.clock\.nowNs is \d+, not the \d+ ns that the instructions retired and the idle time make$/],
    ["a clock past 2^64 ns", (s) => (s.vmm.clock.nowNs = 1e300), "corrupt state file: vmm.clock.nowNs is 1e+300, not a number from 0 to 18446744073709552000"],
    ["an interrupt vector past 255", (s) => (s.vmm.injector.waiting = [32, 256]), "corrupt state file: vmm.injector.waiting[1] is 256, not a whole number from 0 to 255"],
    ["a vector waiting twice", (s) => (s.vmm.injector.waiting = [32, 33, 32]), "corrupt state file: vmm.injector.waiting[2] holds vector 32 again, which the list holds once"],
    ["two deadlines for one vector", (s) => (s.vmm.timer.deadlines = [{ at: 4e6, vector: 32 }, { at: 5e6, vector: 32 }]), "corrupt state file: vmm.timer.deadlines[1] holds a deadline for vector 32 again, which the list holds once"],
    ["more interrupts waiting than there are vectors", (s) => (s.vmm.injector.waiting = new Array(300).fill(32)), "corrupt state file: vmm.injector.waiting has 300 entries, more than the 256 it can hold"],
    ["interrupt deadlines out of order", (s) => (s.vmm.timer.deadlines = [{ at: 5e6, vector: 32 }, { at: 4e6, vector: 33 }]), "corrupt state file: vmm.timer.deadlines[1] comes before the deadline ahead of it: they are kept in order"],
    ["an exit reason past the table", (s) => s.vmm.exitCounts.push({ reason: 1e9, count: 1 }), /^corrupt state file: vmm\.exitCounts\[\d+\]\.reason is 1000000000, not a whole number from 0 to \d+$/],
    ["a CR3-target slot used after the list's clock", (s) => (s.vmm.cr3Targets.stamps[0] = 99), /^corrupt state file: vmm\.cr3Targets\.stamps\[0\] is 99, not a whole number from -1 to \d+$/],
  ])("%s", async (_what, edit, message) => {
    const error = await VirtualMachine.restore(forged(await file, edit), { core, disk: disk() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SavedStateError);
    expect((error as Error).message).toMatch(typeof message === "string" ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : message);
  });

  it("a write transfer on a read-only disk, which never starts one", async () => {
    const file = forged(await saved(true), (s) => (s.devices.ata.transfer = { write: true, lba: 0, left: 0 }));
    await expect(VirtualMachine.restore(file, { core, disk: disk(true) })).rejects.toThrow(
      new SavedStateError("corrupt state file: devices.ata.transfer.write is true on a read-only disk, which refuses every write command"),
    );
  });

  it("restores the same file unforged", async () => {
    await expect(VirtualMachine.restore(await file, { core, disk: disk() })).resolves.toBeInstanceOf(VirtualMachine);
  });
});

describe("what the VMM saves, it restores, with its queues full", () => {
  // Hypercall 5 for every vector from 32 to 255 with interrupts off: each falls due at once and
  // waits for injection (`due` 1), or waits for a deadline far ahead (`due` large). 224 of either,
  // the most the VMM keeps (one per vector). Before the VMM kept one per vector, a guest scheduling
  // in a loop saved 200,000, and a restore that spread them into push() overflowed the stack.
  it.each([
    ["waiting for injection", 1, "injector"],
    ["scheduled far ahead", 1_000_000_000, "timer"],
  ])("interrupts %s", async (_what, due, part) => {
    const { vm } = await bootTiny(`cli\nmov $32, %ebx\n1: mov $5, %eax\nmov $${due}, %ecx\nvmcall\ninc %ebx\ncmp $256, %ebx\njne 1b\n2: jmp 2b`);
    vm.run({ maxInstructions: 100_000 });
    const json = decodeStateFile(vm.saveState()).json as State;
    const queue = part === "injector" ? json.vmm.injector.waiting : json.vmm.timer.deadlines;
    expect(queue).toHaveLength(224);
    const restored = await VirtualMachine.restore(vm.saveState(), { core });
    expect(decodeStateFile(restored.saveState()).json).toEqual(json);
  });
});
