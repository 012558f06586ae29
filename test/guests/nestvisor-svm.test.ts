// The sample guest hypervisor's SVM backend (issue 19 items 3-4): on an AMD CPU guests/nestvisor.elf
// runs its L2 through VMRUN and a VMCB (guests/nestvisor/svm.c) instead of VMX, with the same L2
// kernels, the same devices and the same report. Its golden outputs,
// guests/nestvisor-svm-NAME.expected, are what Bochs prints on its ryzen model (SVM with nRIP;
// `sh guests/nestvisor/make-expected.sh svm`); wasmvisor --cpu amd --nested svm must print exactly
// the same, with the compiling tier on and off. Where Bochs is installed each golden copy is
// re-checked against it.
//
// guests/realmode.bin is an L2 that only SVM can run: a boot sector, started in real mode (the
// VMCB's CR0.PE clear). The VMX backend enters it with the state it needs, and VT-x without
// unrestricted guest refuses it: VM entry fails on CR0's fixed bits (exit reason 33 with the
// entry-failure bit), as the SDM says. Both runs are Bochs' output too.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { assert, describe, expect, it } from "vitest";
import { BOCHS_TIMEOUT_MS, bochsSkipNote, haveBochs, runUnderBochsCpu } from "../support/bochs.js";
import { root, wasmvisor } from "../support/cli.js";
import { golden, l2Guests, lastLine } from "../support/nestvisor-goldens.js";

const REAL_MODE_L2 = "guests/realmode.bin";

function requireCli() {
  if (!existsSync(join(root, "dist/cli.js"))) assert.fail("dist/cli.js is missing: build it first (npm run build)");
}

/** nestvisor on wasmvisor's AMD CPU with SVM, the compiling tier as `jit` says, bounded so that a nested run that goes wrong cannot hang the test. */
function nestvisorSvm(module: string, jit: "on" | "off") {
  requireCli();
  return wasmvisor("run", "guests/nestvisor.elf", "--cpu", "amd", "--nested", "svm", "--jit", jit, "--timeout", "100", "--module", module);
}

describe("guests/nestvisor.elf's SVM backend: the same L2 guests through VMRUN, as Bochs runs them", () => {
  it("has a golden output for each listed L2 guest, each ending with SVM off and L2's status 0", () => {
    expect(l2Guests.length).toBeGreaterThanOrEqual(5);
    for (const { name } of l2Guests) {
      expect(golden(name, "svm")).toContain("nestvisor: SVM on, VMCB ready\n");
      expect(golden(name, "svm").endsWith(`\n${lastLine("svm")}\n`)).toBe(true);
    }
  });

  for (const { name, module } of l2Guests) {
    for (const jit of ["on", "off"] as const) {
      it(`with ${module} as L2, wasmvisor --cpu amd --nested svm --jit ${jit} prints guests/nestvisor-svm-${name}.expected`, async () => {
        const result = await nestvisorSvm(module, jit);
        expect(result.stdout).toBe(golden(name, "svm"));
        expect(result.status, result.stderr).toBe(0);
      }, 120_000);
    }

    it.skipIf(!haveBochs)(`with ${module} as L2, Bochs (ryzen) prints guests/nestvisor-svm-${name}.expected${bochsSkipNote}`, () => {
      expect(runUnderBochsCpu("ryzen", "guests/nestvisor.elf", module)).toBe(golden(name, "svm"));
    }, BOCHS_TIMEOUT_MS);
  }

  it("shows L2 the real CPU's identity but nestvisor's hypervisor leaf, and no SVM (detect's golden)", () => {
    expect(golden("detect", "svm")).toContain('[L2] detect: unknown hypervisor "NestVisor\\0\\0\\0" (max leaf 0x40000000)\n');
  });
});

describe("a real-mode L2 (guests/realmode.bin): SVM runs it, VMX without unrestricted guest refuses it", () => {
  it("the SVM backend runs it in real mode to its end: PE clear, segment:offset addressing", () => {
    const out = golden("realmode", "svm");
    expect(out).toContain("[L2] machine status word 0010: CR0.PE is clear\n");
    expect(out).toContain("[L2] 1234:0010 and 1235:0000 are the same byte\n");
    expect(out.endsWith(`\n${lastLine("svm")}\n`)).toBe(true);
  });

  it("the VMX backend's entry fails on the guest state: exit reason 33 with the entry-failure bit, L2's status 1", () => {
    const out = golden("realmode");
    expect(out).toContain("nestvisor: VM entry failed: exit reason 33, qualification 0\n");
    expect(out).not.toContain("[L2]");
    expect(out.endsWith("\nnestvisor: VMX off, L2's status 1\n")).toBe(true);
  });

  for (const jit of ["on", "off"] as const) {
    it(`wasmvisor --cpu amd --nested svm --jit ${jit} prints guests/nestvisor-svm-realmode.expected`, async () => {
      const result = await nestvisorSvm(REAL_MODE_L2, jit);
      expect(result.stdout).toBe(golden("realmode", "svm"));
      expect(result.status, result.stderr).toBe(0);
    }, 120_000);
  }

  for (const shadowing of ["on", "off"] as const) {
    it(`wasmvisor --nested vmx --vmcs-shadowing ${shadowing} prints guests/nestvisor-realmode.expected and exits with 1`, async () => {
      requireCli();
      const result = await wasmvisor("run", "guests/nestvisor.elf", "--nested", "vmx", "--vmcs-shadowing", shadowing, "--timeout", "100", "--module", REAL_MODE_L2);
      expect(result.stdout).toBe(golden("realmode"));
      expect(result.status, result.stderr).toBe(1);
    }, 120_000);
  }

  it.skipIf(!haveBochs)(`Bochs (ryzen, SVM) prints guests/nestvisor-svm-realmode.expected${bochsSkipNote}`, () => {
    expect(runUnderBochsCpu("ryzen", "guests/nestvisor.elf", REAL_MODE_L2)).toBe(golden("realmode", "svm"));
  }, BOCHS_TIMEOUT_MS);

  it.skipIf(!haveBochs)(`Bochs (corei7_sandy_bridge_2600k, VMX) prints guests/nestvisor-realmode.expected${bochsSkipNote}`, () => {
    expect(runUnderBochsCpu(undefined, "guests/nestvisor.elf", REAL_MODE_L2)).toBe(golden("realmode"));
  }, BOCHS_TIMEOUT_MS);
});
