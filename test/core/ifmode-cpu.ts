// A core set up as the VMM sets it up for an interrupt-flag technique (--if-mode), for the tests
// of binary translation (bt.test.ts, crowded-code-page.test.ts).
import { TestCpu } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import { Vmcs } from "../../src/core/vmcs";
import { programExecutionControls } from "../../src/vmm/vmcs-setup";
import { DEFAULT_CONFIG } from "../../src/vmm/vm-config";

export const MODES = { [L.IF_MODE_VT]: "vt", [L.IF_MODE_CLASSIC]: "classic", [L.IF_MODE_BT]: "bt" } as const;

// A flat ring-0 CPU with the controls the VMM programs for the technique (#GP intercepted under
// classic and bt, the VMM's own tables for SGDT and the others to leak).
export function cpuIn(mode: keyof typeof MODES, eflags = 0x202): TestCpu {
  const cpu = new TestCpu();
  programExecutionControls(new Vmcs(new Int32Array(cpu.core.memory.buffer, L.VMCS_BASE, L.VMCS_SIZE >> 2)), { ...DEFAULT_CONFIG, ifMode: MODES[mode] });
  cpu.setVmcs(L.C_PRIMARY, L.CTL_HLT_EXITING | L.CTL_UNCONDITIONAL_IO);
  cpu.eflags = eflags;
  return cpu;
}

// A u64 of the VMCS (its statistics).
export const vmcs64 = (cpu: TestCpu, offset: number) => cpu.vmcs(offset) + cpu.vmcs(offset + 4) * 2 ** 32;
