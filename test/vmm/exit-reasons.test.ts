// Every exit reason the VMM handles, caused by a tiny guest on the real core and seen the way
// subscribers see it (VirtualMachine.onExit): reason, qualification, guest EIP, decoded detail;
// and what the handler made of it.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/vmcs-layout.js";
import { Reg } from "../../src/core/vmcs.js";
import { EXIT_OK, GUEST_CODE, bootTiny, coreHasInterruptWindowExits, exitsOf, runTiny, withTables } from "../support/tiny-guest.js";

const windowExits = await coreHasInterruptWindowExits();

const setControl = (bits: number) => (vm: { vmcs: { get(o: number): number; set(o: number, v: number): void } }) =>
  vm.vmcs.set(L.C_PRIMARY, vm.vmcs.get(L.C_PRIMARY) | bits);

describe("exit reasons caused from a guest", () => {
  it("0 exception: #UD from UD2 with the exception bitmap's bit 6 set; vector and type in the interruption info", async () => {
    const run = await runTiny(`ud2\n${EXIT_OK}`, {}, (vm) => vm.vmcs.set(L.C_EXCEPTION_BITMAP, 1 << 6));
    const [exit] = exitsOf(run, L.EXIT_EXCEPTION);
    expect(exit).toMatchObject({ eip: GUEST_CODE, qualification: 0, detail: "#UD" });
    expect(run.vm.vmcs.get(L.X_INTR_INFO)).toBe(0x80000306);
    expect(run.result.stop).toEqual({ kind: "exception", vector: 6, errorCode: undefined });
  });

  it("1 external interrupt: the interrupt timer's deadline stops the guest exactly there", async () => {
    const run = await runTiny("1: inc %ecx\njmp 1b", {}, (vm) => vm.scheduleInterrupt(0x40, 1000));
    const [exit] = exitsOf(run, L.EXIT_EXTERNAL_INTERRUPT);
    expect(exit.instructions).toBe(1000);
    expect(run.vm.interrupts.pending).toBe(1); // IF = 0: it waits for the guest
  });

  it("2 triple fault: INT3 with no usable IDT", async () => {
    const run = await runTiny("int3");
    expect(run.exits.map((e) => e.reason)).toEqual([L.EXIT_TRIPLE_FAULT]);
    expect(run.result.stop).toEqual({ kind: "triple-fault" });
  });

  it("10 CPUID: the leaf and subleaf in EAX and ECX; the handler answers and moves past it", async () => {
    const run = await runTiny(`mov $0x40000000, %eax\nxor %ecx, %ecx\ncpuid\nmov %ebx, %esi\n${EXIT_OK}`);
    const [exit] = exitsOf(run, L.EXIT_CPUID);
    expect(exit).toMatchObject({ eip: GUEST_CODE + 7, qualification: 0, detail: "leaf 0x40000000 subleaf 0x00000000" });
    expect(run.vm.vmcs.reg(Reg.ESI)).toBe(0x6d736177); // "wasm"
  });

  it("12 HLT: CLI; HLT ends the run for good", async () => {
    const run = await runTiny("cli\nhlt");
    expect(exitsOf(run, L.EXIT_HLT)).toHaveLength(1);
    expect(run.result.stop).toEqual({ kind: "halted", interruptsEnabled: false });
  });

  it("14 INVLPG: the linear address in the qualification", async () => {
    const run = await runTiny(`invlpg 0x12345678\n${EXIT_OK}`, {}, setControl(L.CTL_INVLPG_EXITING));
    expect(exitsOf(run, L.EXIT_INVLPG)).toMatchObject([{ qualification: 0x12345678, detail: "linear 0x12345678" }]);
    expect(run.result.stop.kind).toBe("guest-exit");
  });

  it("16 RDTSC: EDX:EAX from the VMM, the same virtual TSC the core gives without the exit", async () => {
    const source = `nop\nnop\nrdtsc\nmov %eax, %esi\n${EXIT_OK}`;
    const exiting = await runTiny(source, {}, setControl(L.CTL_RDTSC_EXITING));
    const plain = await runTiny(source);
    expect(exitsOf(exiting, L.EXIT_RDTSC)).toHaveLength(1);
    expect(exiting.vm.vmcs.reg(Reg.ESI)).toBe(2);
    expect(plain.vm.vmcs.reg(Reg.ESI)).toBe(2);
  });

  it("18 VMCALL: a hypercall; the clock function returns instructions retired", async () => {
    const run = await runTiny(`nop\nnop\nmov $2, %eax\nvmcall\nmov %eax, %esi\n${EXIT_OK}`);
    expect(exitsOf(run, L.EXIT_VMCALL)[0].detail).toMatch(/^clock EBX=0x[0-9a-f]{8} ECX=0x[0-9a-f]{8}$/);
    expect(run.vm.vmcs.reg(Reg.ESI)).toBe(3);
  });

  it("28 CR access, MOV to CR3: CR 3, access type 0, the GPR in bits 8-11", async () => {
    const run = await runTiny(`mov $0x00105000, %ebx\nmov %ebx, %cr3\nmov %cr3, %esi\n${EXIT_OK}`);
    expect(exitsOf(run, L.EXIT_CR_ACCESS)).toMatchObject([{ qualification: 0x303, detail: "MOV to CR3 from EBX (0x00105000)" }]);
    expect(run.vm.vmcs.reg(Reg.ESI)).toBe(0x00105000);
  });

  it("28 CR access, MOV to CR0 changing an owned bit (WP): completed, read back through the shadow", async () => {
    const run = await runTiny(`mov %cr0, %ecx\nor $0x10000, %ecx\nmov %ecx, %cr0\nmov %cr0, %esi\n${EXIT_OK}`);
    expect(exitsOf(run, L.EXIT_CR_ACCESS)).toMatchObject([{ qualification: 0x100, detail: "MOV to CR0 from ECX (0x00010011)" }]);
    expect(run.vm.vmcs.reg(Reg.ESI)).toBe(0x00010011);
  });

  it("28 CR access, CLTS and LMSW touching an owned TS: access types 2 and 3, LMSW's data in bits 16-31", async () => {
    const run = await runTiny(`clts\nmov $0xb, %ax\nlmsw %ax\nmov %cr0, %esi\n${EXIT_OK}`, {}, (vm) => {
      vm.vmcs.set(L.C_CR0_MASK, vm.vmcs.get(L.C_CR0_MASK) | 0x8);
      vm.vmcs.set(L.C_CR0_SHADOW, 0x8);
      vm.vmcs.set(L.G_CR0, 0x19);
    });
    expect(exitsOf(run, L.EXIT_CR_ACCESS).map((e) => [e.qualification, e.detail])).toEqual([
      [0x20, "CLTS"],
      [0x000b0030, "LMSW 0xb"],
    ]);
    expect(run.vm.vmcs.reg(Reg.ESI)).toBe(0x1b);
  });

  it("30 I/O: size, direction, string, REP and port in the qualification (SDM Table 28-5)", async () => {
    const run = await runTiny(`out %al, $0x80\nmov $0x3f8, %dx\ninw %dx, %ax\nmov $0, %esi\nmov $2, %ecx\nrep outsb\n${EXIT_OK}`);
    expect(exitsOf(run, L.EXIT_IO).slice(0, 3).map((e) => [e.qualification, e.detail])).toEqual([
      [0x00800040, "OUT port 0x0080, 1 byte"], // bit 6: port given as an immediate
      [0x03f80009, "IN port 0x03f8, 2 bytes"],
      [0x03f80030, "REP OUTS port 0x03f8, 1 byte"],
    ]);
  });

  it("31 and 32 RDMSR/WRMSR: the MSR in ECX", async () => {
    const run = await runTiny(`mov $0x174, %ecx\nmov $8, %eax\nxor %edx, %edx\nwrmsr\nrdmsr\nmov %eax, %esi\n${EXIT_OK}`);
    expect(run.exits.slice(0, 2).map((e) => [e.reason, e.detail])).toEqual([
      [L.EXIT_WRMSR, "MSR 0x00000174"],
      [L.EXIT_RDMSR, "MSR 0x00000174"],
    ]);
    expect(run.vm.vmcs.reg(Reg.ESI)).toBe(8);
  });

  it("52 preemption timer: the end of every slice, at multiples of its length in retired instructions", async () => {
    const { vm, exits } = await bootTiny("1: inc %ecx\njmp 1b");
    const ends = () => exits.filter((e) => e.reason === L.EXIT_PREEMPTION_TIMER).map((e) => e.instructions);
    vm.run({ maxInstructions: 10_000, sliceInstructions: 1000 });
    // The slice end where the limit stops the run is reported too: a run that goes on from here
    // sees the same exits as one that never stopped.
    expect(ends()).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    vm.run({ maxInstructions: 12_500, sliceInstructions: 1000 });
    vm.run({ maxInstructions: 14_000, sliceInstructions: 1000 });
    expect(ends().slice(10)).toEqual([11_000, 12_000, 13_000, 14_000]);
  });

  it.each([
    ["cli", L.EXIT_CLI, 4],
    ["sti", L.EXIT_STI, 4],
    ["pushfl\npopl %eax", L.EXIT_PUSHF, 4],
    ["pushfw\npopw %ax", L.EXIT_PUSHF, 2],
    ["pushl $0x2\npopfl", L.EXIT_POPF, 4],
    ["pushfl\npushl %cs\npushl $1f\niret\n1:", L.EXIT_IRET, 4],
  ])("0x100-0x104 under --if-mode trap: %j exits with the operand size as qualification and is completed", async (asm, reason, size) => {
    const run = await runTiny(`mov $0x90000, %esp\n${withTables({})}\n${asm}\n${EXIT_OK}`, { ifMode: "trap" });
    expect(exitsOf(run, reason)[0]).toMatchObject({ qualification: size, detail: `${size * 8}-bit operand` });
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
  });

  it("0 exception under --if-mode classic: CLI and STI arrive as #GP(0), emulated on the virtual IF", async () => {
    const run = await runTiny(`sti\ncli\nsti\n${EXIT_OK}`, { ifMode: "classic" });
    expect(exitsOf(run, L.EXIT_EXCEPTION).map((e) => [e.eip - GUEST_CODE, e.detail])).toEqual([
      [0, "#GP error code 0x0"],
      [1, "#GP error code 0x0"],
      [2, "#GP error code 0x0"],
    ]);
    expect(run.vm.interrupts.flag.enabled()).toBe(true);
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
  });

  it.skipIf(!windowExits)("7 interrupt window: injectInterrupt() while IF = 0 waits; STI opens the window after its shadow", async () => {
    const source = `mov $0x90000, %esp\n${withTables({ 0x40: "handler" })}\ncpuid\nsti\nmov $1, %esi\n1: jmp 1b\nhandler: mov %esi, %edi\n${EXIT_OK}`;
    const run = await runTiny(source, {}, (vm) => vm.onExit((exit) => exit.reason === L.EXIT_CPUID && vm.injectInterrupt(0x40)));
    expect(run.exits.map((e) => e.reason).slice(0, 2)).toEqual([L.EXIT_CPUID, L.EXIT_INTERRUPT_WINDOW]);
    expect(exitsOf(run, L.EXIT_INTERRUPT_WINDOW)[0].qualification).toBe(0);
    expect(run.vm.vmcs.reg(Reg.EDI)).toBe(1); // delivered after the instruction in the STI shadow
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
  });

  it("injectInterrupt() while the guest is interruptible: straight into E_INTR_INFO, no window exit", async () => {
    const source = `mov $0x90000, %esp\n${withTables({ 0x40: "handler" })}\nsti\nnop\ncpuid\n1: jmp 1b\nhandler: ${EXIT_OK}`;
    const run = await runTiny(source, {}, (vm) => vm.onExit((exit) => exit.reason === L.EXIT_CPUID && vm.injectInterrupt(0x40)));
    expect(run.exits.map((e) => e.reason)).toEqual([L.EXIT_CPUID, L.EXIT_IO]);
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
  });

  it("a guest with its own IDT takes an interrupt the VMM injected (the tables helper works)", async () => {
    const run = await runTiny(`${withTables({ 0x40: "handler" })}\nsti\n1: jmp 1b\nhandler: ${EXIT_OK}`, {}, (vm) => vm.scheduleInterrupt(0x40, 200));
    expect(exitsOf(run, L.EXIT_EXTERNAL_INTERRUPT)).toHaveLength(1);
    expect(run.result.stop).toEqual({ kind: "guest-exit", code: 0 });
  });
});
