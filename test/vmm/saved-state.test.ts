// vm.saveState() and VirtualMachine.restore(): a guest that uses the timer, serial interrupts,
// paging, the RTC and HLT, run for N instructions, saved, restored into a new VM and run to N+M,
// must end in exactly the state of one run straight to N+M: registers, RAM, every device, the
// VMM's state and the console output. Also: what a restored machine keeps, and what it refuses.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CLEAN_ALL, C_CLEAN_FIELDS, G_EFER, C_PREEMPTION_TIMER, STAT_HOST_WORK_LO, STAT_SHADOW_PAGES, STAT_TLB_MISSES, VMCS_SIZE, X_REASON } from "../../assembly/vmcs-layout.js";
import { MemoryDisk } from "../../src/devices/block-backend.js";
import { SavedStateError } from "../../src/devices/saved-values.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { core } from "../support/tiny-guest.js";
import { timerSerialGuest } from "../support/timer-serial-guest.js";

const kernel = timerSerialGuest();

async function boot(): Promise<{ vm: VirtualMachine; output: number[] }> {
  const output: number[] = [];
  const vm = await VirtualMachine.boot(kernel, { core, memoryMiB: 8, serialOutput: (byte) => output.push(byte) });
  return { vm, output };
}

/** Everything a guest or a device could observe, and nothing the host's run slicing changes. */
function observable(vm: VirtualMachine) {
  const json = JSON.parse(new TextDecoder().decode(stateJson(vm.saveState())));
  const vmcs = Array.from(vm.vmcs.i32.subarray(0, VMCS_SIZE >> 2));
  // Not architectural: the budget left, the last exit's information, the core's statistics (a
  // restored machine rebuilds its shadows, so it counts more misses and builds, and compiles its
  // blocks again, so compiled code retires fewer of its instructions and the host works more).
  vmcs.fill(0, C_PREEMPTION_TIMER >> 2, (C_PREEMPTION_TIMER >> 2) + 1);
  vmcs.fill(0, X_REASON >> 2, STAT_TLB_MISSES >> 2);
  vmcs.fill(0, STAT_TLB_MISSES >> 2, (STAT_HOST_WORK_LO + 8) >> 2);
  return { registers: vm.registerDump(), vmcs, ram: createHash("sha256").update(vm.ram).digest("hex"), machine: json };
}

/** Section 1 of a state file: the JSON. */
function stateJson(file: Uint8Array): Uint8Array {
  const length = new DataView(file.buffer, file.byteOffset).getUint32(24, true);
  return file.subarray(28, 28 + length);
}

describe("saving and restoring a running machine", () => {
  it.each([700_001, 1_300_000, 2_100_003])("N = %i, then on to 2 400 000: the same state as one run", async (n) => {
    const total = 2_400_000;
    const straight = await boot();
    expect(straight.vm.run({ maxInstructions: total }).stop).toEqual({ kind: "instruction-limit", limit: total });

    const first = await boot();
    first.vm.run({ maxInstructions: n });
    const saved = first.vm.saveState();
    const restoredOutput: number[] = [];
    const restored = await VirtualMachine.restore(saved, { core, serialOutput: (byte) => restoredOutput.push(byte) });
    expect(restored.instructionsRetired()).toBe(n);
    expect(restored.run({ maxInstructions: total }).stop).toEqual({ kind: "instruction-limit", limit: total });

    expect(observable(restored)).toEqual(observable(straight.vm));
    expect([...first.output, ...restoredOutput]).toEqual(straight.output);
    expect(straight.output.length).toBeGreaterThan(100);
  });

  it("runs the restored guest to its own end, printing the rest of its output", async () => {
    const straight = await boot();
    expect(straight.vm.run({ maxInstructions: 10_000_000 }).stop).toEqual({ kind: "guest-exit", code: 0 });
    const first = await boot();
    first.vm.run({ maxInstructions: 1_500_000 });
    const rest: number[] = [];
    const restored = await VirtualMachine.restore(first.vm.saveState(), { core, serialOutput: (byte) => rest.push(byte) });
    expect(restored.run({ maxInstructions: 10_000_000 }).stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(String.fromCharCode(...first.output, ...rest)).toBe(String.fromCharCode(...straight.output));
    expect(restored.instructionsRetired()).toBe(straight.vm.instructionsRetired());
  });

  it("keeps the configuration, the exit counts, the CR3-target list and the MMU statistics", async () => {
    const vm = await VirtualMachine.boot(kernel, { core, memoryMiB: 8, ifMode: "trap", cpuidVendor: "kvm", cr3Targets: 1, cr3Policy: "fifo" });
    vm.run({ maxInstructions: 1_000_000 });
    const restored = await VirtualMachine.restore(vm.saveState(), { core });
    expect(restored.config).toEqual(vm.config);
    expect(restored.ram.length).toBe(8 << 20);
    expect(restored.cr3Targets.misses).toBe(vm.cr3Targets.misses);
    expect(restored.cr3Targets.values()).toEqual(vm.cr3Targets.values());
    expect(restored.statistics().exits.map(({ reason, count }) => [reason, count])).toEqual(vm.statistics().exits.map(({ reason, count }) => [reason, count]));
    expect(vm.vmcs.get(STAT_SHADOW_PAGES)).toBeGreaterThan(0);
    for (let stat = STAT_TLB_MISSES; stat <= STAT_TLB_MISSES + 0x20; stat += 4) {
      // a restored machine starts with no shadows and rebuilds them on demand
      expect(restored.vmcs.get(stat)).toBe(stat === STAT_SHADOW_PAGES ? 0 : vm.vmcs.get(stat));
    }
  });

  it("keeps the AMD CPU and its MSRs (EFER in the CPU section, VM_CR and VM_HSAVE_PA in the VMM's), and refuses to make it an Intel one", async () => {
    const vm = await VirtualMachine.boot(kernel, { core, memoryMiB: 8, cpu: "amd" });
    vm.run({ maxInstructions: 300_000 });
    vm.svmMsrs.vmCr = 0x07;
    vm.svmMsrs.hsavePa = 0x5000;
    vm.vmcs.set(G_EFER, 1 << 12);
    const saved = vm.saveState();
    const restored = await VirtualMachine.restore(saved, { core });
    expect(restored.config.cpu).toBe("amd");
    expect(restored.cpuid.query(0)).toEqual(vm.cpuid.query(0));
    expect(restored.svmMsrs.saveState()).toEqual({ vmCr: 0x07, hsavePa: 0x5000 });
    expect(restored.vmcs.get(G_EFER)).toBe(1 << 12);
    await expect(VirtualMachine.restore(saved, { core, cpu: "intel" })).rejects.toThrow('the saved machine has cpu "amd"; it cannot be restored with "intel"');
  });

  it("keeps a CR3-target count changed while the guest ran (as the browser demo's control does)", async () => {
    const { vm } = await boot();
    vm.run({ maxInstructions: 300_000 });
    vm.cr3Targets.resize(2);
    vm.run({ maxInstructions: 600_000 });
    const restored = await VirtualMachine.restore(vm.saveState(), { core });
    expect(restored.cr3Targets.count).toBe(2);
    expect(restored.cr3Targets.values()).toEqual(vm.cr3Targets.values());
    expect(restored.config.cr3Targets).toBe(2);
  });

  it("compresses RAM: an 8 MiB guest saves to far less", async () => {
    const { vm } = await boot();
    vm.run({ maxInstructions: 1_000_000 });
    expect(vm.saveState().length).toBeLessThan(64 * 1024);
  });

  it("refuses options that would change the machine, and a disk that is not the saved one", async () => {
    const { vm } = await boot();
    vm.run({ maxInstructions: 100_000 });
    const saved = vm.saveState();
    await expect(VirtualMachine.restore(saved, { core, memoryMiB: 16 })).rejects.toThrow(
      new SavedStateError("the saved machine has memoryMiB 8; it cannot be restored with 16"),
    );
    await expect(VirtualMachine.restore(saved, { core, ifMode: "classic" })).rejects.toThrow('the saved machine has ifMode "vt"; it cannot be restored with "classic"');
    await expect(VirtualMachine.restore(saved, { core, disk: new MemoryDisk(new Uint8Array(4096)) })).rejects.toThrow("the saved machine had no disk; it cannot be restored with one");
    const withDisk = await VirtualMachine.boot(kernel, { core, memoryMiB: 8, disk: new MemoryDisk(new Uint8Array(8192)) });
    const savedWithDisk = withDisk.saveState();
    await expect(VirtualMachine.restore(savedWithDisk, { core })).rejects.toThrow("the saved machine had a writable disk of 16 sectors: restore it with the same disk image");
    await expect(VirtualMachine.restore(savedWithDisk, { core, disk: new MemoryDisk(new Uint8Array(4096)) })).rejects.toThrow(
      "the saved machine had a writable disk of 16 sectors, not a writable one of 8: restore it with the same disk image",
    );
    expect((await VirtualMachine.restore(savedWithDisk, { core, memoryMiB: 8, disk: new MemoryDisk(new Uint8Array(8192)) })).pc.ata).toBeDefined();
  });

  it("makes the restored core's first entry reload every group of guest state (no clean fields)", async () => {
    const { vm } = await boot();
    vm.run({ maxInstructions: 100_000 });
    expect(vm.vmcs.get(C_CLEAN_FIELDS)).toBe(CLEAN_ALL);
    const restored = await VirtualMachine.restore(vm.saveState(), { core });
    expect(restored.vmcs.get(C_CLEAN_FIELDS)).toBe(0);
  });

  it("cannot be saved from inside a run", async () => {
    const { vm } = await boot();
    let error: unknown;
    vm.onExit(() => {
      try {
        vm.saveState();
      } catch (caught) {
        error ??= caught;
      }
    });
    vm.run({ maxInstructions: 10_000 });
    expect(String(error)).toBe("Error: saveState() during run(): save the machine between runs");
  });
});
