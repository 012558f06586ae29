// The sample guests of issue 3 under the options they are about: detect under every CPUID vendor
// and Hyper-V partition (on both CPUs: --cpuid-vendor is the hypervisor, --cpu the processor), redpill
// and ringcheck under classic, vt and bt, ifmodes under all four techniques.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXIT_CLI, EXIT_EXCEPTION, EXIT_IRET, EXIT_POPF, EXIT_PUSHF, EXIT_STI } from "../../assembly/vmcs-layout.js";
import { VirtualMachine, type VirtualMachineOptions } from "../../src/vmm/virtual-machine.js";
import { core, coreHasInterruptWindowExits } from "../support/tiny-guest.js";

async function runGuest(name: string, options: VirtualMachineOptions) {
  const output: number[] = [];
  const vm = await VirtualMachine.boot(readFileSync(new URL(`../../guests/${name}.elf`, import.meta.url)), { core, serialOutput: (b) => output.push(b), ...options });
  const result = vm.run({ maxInstructions: 20_000_000 });
  return { vm, stop: result.stop, lines: String.fromCharCode(...output).trimEnd().split("\n") };
}

describe("detect: the verdict real detection code reaches", () => {
  it.each([
    [{ cpuidVendor: "wasmvisor" }, "detect: wasmvisor guest (hypercall ABI 1, functions 1-6)"],
    [{ cpuidVendor: "kvm" }, "detect: KVM guest (KVM features 0x00000002)"],
    [{ cpuidVendor: "hyperv", hypervPartition: "child" }, "detect: Hyper-V child partition (a guest VM)"],
    [{ cpuidVendor: "hyperv", hypervPartition: "root" }, "detect: Hyper-V root partition (CreatePartitions privilege)"],
    [{ cpuidVendor: "vmware" }, "detect: VMware guest"],
    [{ cpuidVendor: "none" }, "detect: bare metal (CPUID.1:ECX[31] clear)"],
  ] as const)("%j, on the Intel and the AMD CPU alike", async (options, verdict) => {
    for (const cpu of ["intel", "amd"] as const) {
      const { stop, lines } = await runGuest("detect", { ...options, cpu });
      expect(lines, cpu).toEqual([verdict]);
      expect(stop, cpu).toEqual({ kind: "guest-exit", code: 0 });
    }
  });
});

describe("ringcheck: a deprivileged kernel sees its ring under classic, ring 0 under vt and bt", () => {
  const golden = (name: string) => readFileSync(new URL(`../../guests/${name}.expected`, import.meta.url), "utf8").trimEnd().split("\n");

  it("vt: every check shows ring 0, as under QEMU (guests/ringcheck.expected, checked against QEMU in conformance.test.ts)", async () => {
    const { lines, stop } = await runGuest("ringcheck", { ifMode: "vt" });
    expect(lines).toEqual(golden("ringcheck"));
    expect(stop).toEqual({ kind: "guest-exit", code: 0 });
  });

  it("bt: the same as under vt, every check rewritten in the translated kernel code", async () => {
    const { vm, lines, stop } = await runGuest("ringcheck", { ifMode: "bt" });
    expect(lines).toEqual(golden("ringcheck"));
    expect(stop).toEqual({ kind: "guest-exit", code: 0 });
    const { inline } = vm.statistics().translation!;
    for (const { name, count } of inline.filter((r) => r.name !== "STI")) expect(count, name).toBeGreaterThan(0);
  });

  it("classic: CS and SS read with RPL 1, LAR shows DPL 1, the VMM's tables, CR0 and IF; its own round trip still works", async () => {
    const { lines, stop } = await runGuest("ringcheck", { ifMode: "classic" });
    expect(lines).toEqual(golden("ringcheck-classic"));
    expect(lines[0]).toBe("ringcheck: mov ax, cs = 0x0009, mov ax, ss = 0x0011, push cs = 0x0009, push ss = 0x0011");
    expect(lines[2]).toMatch(/^ringcheck: lar cs: valid DPL 1, lar ss: valid DPL 1; verr cs 1, verw ss 1, lsl ss 1 = 0xffffffff$/);
    expect(lines[4]).toBe("ringcheck: sgdt 0xffc07000/0x0fff, sidt 0xffc18000/0x07ff, sldt 0x0ff0, str 0x0ff8, smsw 0x003b");
    expect(lines[9]).toBe("ringcheck: lret through the pushed CS and mov ss of the read SS: ok");
    expect(lines[10]).toBe("ringcheck: verdict: deprivileged, 5 check(s) found a monitor");
    expect(stop).toEqual({ kind: "guest-exit", code: 0 });
  });
});

describe("redpill: SIDT finds the VMM under classic, not under vt and bt", () => {
  it("classic: SIDT, SGDT and SMSW show the VMM's values", async () => {
    const { lines } = await runGuest("redpill", { ifMode: "classic" });
    expect(lines[0]).toMatch(/^redpill: loaded IDT base 0x001[0-9a-f]{5}; SIDT says base 0xffc18000 limit 0x07ff$/);
    expect(lines[1]).toBe("redpill: SGDT base 0xffc07000 limit 0x0fff; SMSW 0x8001003b");
    expect(lines[2]).toBe("redpill: inside the Matrix: SIDT shows a VMM's IDT, not ours");
  });

  it.each(["vt", "bt"] as const)("%s: SIDT shows the guest's own IDT", async (ifMode) => {
    const { lines } = await runGuest("redpill", { ifMode });
    const [, loaded, seen] = lines[0].match(/loaded IDT base (0x[0-9a-f]+); SIDT says base (0x[0-9a-f]+)/)!;
    expect(seen).toBe(loaded);
    expect(lines[1]).toBe("redpill: SGDT base 0x00000000 limit 0xffff; SMSW 0x00000011");
    expect(lines[2]).toBe("redpill: not in the Matrix: SIDT shows our own IDT");
  });
});

const windowExits = await coreHasInterruptWindowExits();
const trapReasons = [EXIT_CLI, EXIT_STI, EXIT_PUSHF, EXIT_POPF, EXIT_IRET];

const ARCHITECTURAL = [
  "ifmodes: after cli, pushf shows IF=0",
  "ifmodes: with IF=1: 1 interrupt(s) taken",
  "ifmodes: pushf/cli/popf: 0 inside, 1 after popf, 1 after the next sti",
  "ifmodes: sti shadow: the waiting interrupt came 1 instruction(s) after sti",
  "ifmodes: sti; hlt: woken by the interrupt",
  "ifmodes: buffer: 8 of 8 periodic interrupts arrived, in order",
  "ifmodes: done",
];

describe.skipIf(!windowExits)("ifmodes: the interrupt flag under --if-mode vt, trap, classic and bt", () => {
  it("vt: the architecture's behaviour, with no IF exits at all", async () => {
    const { vm, lines, stop } = await runGuest("ifmodes", { ifMode: "vt" });
    expect(lines).toEqual(ARCHITECTURAL);
    expect(stop).toEqual({ kind: "guest-exit", code: 0 });
    expect(trapReasons.map((r) => vm.stats.count(r))).toEqual([0, 0, 0, 0, 0]);
  });

  it("trap: the same output, every CLI/STI/PUSHF/POPF/IRET having exited to the VMM", async () => {
    const { vm, lines } = await runGuest("ifmodes", { ifMode: "trap" });
    expect(lines).toEqual(ARCHITECTURAL);
    for (const reason of trapReasons) expect(vm.stats.count(reason)).toBeGreaterThan(0);
  });

  it("bt: the architecture's behaviour, with no IF exits and no #GP: CLI, STI, POPF and IRET rewritten", async () => {
    const { vm, lines, stop } = await runGuest("ifmodes", { ifMode: "bt" });
    expect(lines).toEqual(ARCHITECTURAL);
    expect(stop).toEqual({ kind: "guest-exit", code: 0 });
    expect([...trapReasons, EXIT_EXCEPTION].map((r) => vm.stats.count(r))).toEqual([0, 0, 0, 0, 0, 0]);
    const { inline, callouts } = vm.statistics().translation!;
    const performed = (name: string) => [...inline, ...callouts].find((r) => r.name === name)!.count;
    for (const name of ["CLI", "STI", "PUSHF", "POPF", "IRET", "interrupt delivery"]) expect(performed(name), name).toBeGreaterThan(0);
  });

  it("classic: PUSHF shows the real IF, and interrupts wait after POPF or are lost", async () => {
    const { vm, lines } = await runGuest("ifmodes", { ifMode: "classic" });
    expect(lines[0]).toBe("ifmodes: after cli, pushf shows IF=1");
    expect(lines[2]).toBe("ifmodes: pushf/cli/popf: 0 inside, 0 after popf, 1 after the next sti");
    expect(lines[3]).toBe(ARCHITECTURAL[3]);
    expect(lines[4]).toBe(ARCHITECTURAL[4]);
    expect(lines[5]).toMatch(/^ifmodes: buffer: [01] of 8 periodic interrupts arrived$/);
    expect(vm.stats.count(EXIT_EXCEPTION)).toBeGreaterThan(0);
  });
});
