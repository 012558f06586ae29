// Tiny guests for end-to-end tests of the VMM on the real core (build/core.wasm): AT&T assembly
// (assembled with GNU as through the core harness), wrapped in a Multiboot ELF at 1 MiB, booted
// by VirtualMachine with every VM exit recorded as its subscribers see it.

import { readFileSync } from "node:fs";
import { C_PRIMARY, CTL_INTERRUPT_WINDOW, EXIT_INTERRUPT_WINDOW } from "../../assembly/vmcs-layout.js";
import type { ExitEvent } from "../../src/vmm/exit-event.js";
import { VirtualMachine, type RunResult, type VirtualMachineOptions } from "../../src/vmm/virtual-machine.js";
import { assemble } from "../core/harness.js";
import { KERNEL_BASE, kernelElf } from "./images.js";

export const core = readFileSync(new URL("../../build/core.wasm", import.meta.url));

/** Where a tiny guest's code starts: after the 12-byte Multiboot header. */
export const GUEST_CODE = KERNEL_BASE + 12;

/** Ends the run with status 0 through isa-debug-exit (one I/O exit). */
export const EXIT_OK = "movb $0, %al\nout %al, $0xf4";

export interface TinyRun {
  vm: VirtualMachine;
  exits: ExitEvent[];
  result: RunResult;
}

/** The exits with `reason`, in order. */
export const exitsOf = (run: TinyRun, reason: number) => run.exits.filter((e) => e.reason === reason);

export async function bootTiny(source: string, options: VirtualMachineOptions = {}): Promise<{ vm: VirtualMachine; exits: ExitEvent[] }> {
  const vm = await VirtualMachine.boot(kernelElf(assemble(source, GUEST_CODE)), { core, memoryMiB: 8, ...options });
  const exits: ExitEvent[] = [];
  vm.onExit((exit) => exits.push(exit));
  return { vm, exits };
}

/** Boots `source`, lets `setup` program the VM, runs it (1 million instructions at most). */
export async function runTiny(source: string, options: VirtualMachineOptions = {}, setup: (vm: VirtualMachine) => void = () => {}): Promise<TinyRun> {
  const { vm, exits } = await bootTiny(source, options);
  setup(vm);
  return { vm, exits, result: vm.run({ maxInstructions: 1_000_000 }) };
}

/**
 * Assembly that gives a tiny guest its own flat GDT (code 0x08, data 0x10) at 0x2000 and an IDT
 * at 0x3000 with 32-bit interrupt gates to the given labels; the loader's GDTR points at nothing.
 */
export function withTables(gates: Record<number, string>): string {
  const gate = ([vector, label]: [string, string]) => {
    const at = 0x3000 + 8 * Number(vector);
    return `mov $${label}, %eax\nmov %ax, ${at}\nmovw $8, ${at + 2}\nmovw $0x8e00, ${at + 4}\nshr $16, %eax\nmov %ax, ${at + 6}`;
  };
  return [
    "movl $0x0000ffff, 0x2008\nmovl $0x00cf9b00, 0x200c\nmovl $0x0000ffff, 0x2010\nmovl $0x00cf9300, 0x2014",
    "lgdt gdtr\nljmp $8, $1f\n1: mov $0x10, %ax\nmov %ax, %ds\nmov %ax, %es\nmov %ax, %ss",
    ...Object.entries(gates).map(gate),
    "lidt idtr\njmp 2f",
    "gdtr: .word 0x17\n.long 0x2000\nidtr: .word 0x7ff\n.long 0x3000",
    "2:",
  ].join("\n");
}

/**
 * Whether the core implements interrupt-window exiting (SDM 25.2): an interruptible guest with the
 * control set must exit at once. Tests of behaviour that needs it are skipped until it does.
 */
export async function coreHasInterruptWindowExits(): Promise<boolean> {
  const run = await runTiny("sti\nnop\nnop\ncli\nhlt", {}, (vm) => vm.vmcs.set(C_PRIMARY, vm.vmcs.get(C_PRIMARY) | CTL_INTERRUPT_WINDOW));
  return exitsOf(run, EXIT_INTERRUPT_WINDOW).length > 0;
}
