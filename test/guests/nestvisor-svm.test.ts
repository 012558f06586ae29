// The sample guest hypervisor's SVM backend (issue 19 items 3-4): on an AMD CPU guests/nestvisor.elf
// runs its L2 through VMRUN and a VMCB (guests/nestvisor/svm.c) instead of VMX, with the same L2
// kernels, the same devices and the same report. Its golden outputs,
// guests/nestvisor-svm-NAME.expected, are what Bochs prints on its ryzen model (SVM with nRIP;
// `sh guests/nestvisor/make-expected.sh svm`); wasmvisor --cpu amd --nested svm must print exactly
// the same, with the compiling tier on and off. Where Bochs is installed each golden copy is
// re-checked against it.
//
// guests/realmode.bin and guests/pm16.bin are L2s that only SVM can run: boot sectors, started in
// real mode (the VMCB's CR0.PE clear); pm16 then enters 16-bit protected mode, paging off. The VMX
// backend enters each with the state it needs, and VT-x without unrestricted guest refuses it:
// VM entry fails on CR0's fixed bits (exit reason 33 with the entry-failure bit), as the SDM says.
// Both runs are Bochs' output too.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { assert, describe, expect, it } from "vitest";
import { BOCHS_TIMEOUT_MS, bochsSkipNote, haveBochs, runUnderBochsCpu } from "../support/bochs.js";
import { root, wasmvisor } from "../support/cli.js";
import { golden, l2Guests, lastLine } from "../support/nestvisor-goldens.js";

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

/** The boot-sector L2s: started in real mode, one stays there, the other enters 16-bit protected mode; what each golden shows of it. */
const BOOT_SECTOR_L2S = [
  {
    name: "realmode",
    what: "a real-mode L2",
    runs: "in real mode to its end: PE clear, segment:offset addressing",
    shows: ["[L2] machine status word 0010: CR0.PE is clear\n", "[L2] 1234:0010 and 1235:0000 are the same byte\n"],
  },
  {
    name: "pm16",
    what: "a 16-bit protected-mode L2",
    runs: "into 16-bit protected mode without paging and to its end: selectors, a 64 KiB limit, a 286 gate",
    shows: ["[L2] MSW 0011, CS 0008\n", "[L2] 18:0000 = 20:2340 (bases 12340, 10000)\n", "[L2] word at FFFF: #GP(0000) via a 286 gate, frame of 0008 bytes\n"],
  },
];

for (const { name, what, runs, shows } of BOOT_SECTOR_L2S) {
  const module = `guests/${name}.bin`;
  describe(`${what} (${module}): SVM runs it, VMX without unrestricted guest refuses it at its start in real mode`, () => {
    it(`the SVM backend runs it ${runs}`, () => {
      const out = golden(name, "svm");
      for (const line of shows) expect(out).toContain(line);
      expect(out.endsWith(`\n${lastLine("svm")}\n`)).toBe(true);
    });

    it("the VMX backend's entry fails on the guest state: exit reason 33 with the entry-failure bit, L2's status 1", () => {
      const out = golden(name);
      expect(out).toContain("nestvisor: VM entry failed: exit reason 33, qualification 0\n");
      expect(out).not.toContain("[L2]");
      expect(out.endsWith("\nnestvisor: VMX off, L2's status 1\n")).toBe(true);
    });

    for (const jit of ["on", "off"] as const) {
      it(`wasmvisor --cpu amd --nested svm --jit ${jit} prints guests/nestvisor-svm-${name}.expected`, async () => {
        const result = await nestvisorSvm(module, jit);
        expect(result.stdout).toBe(golden(name, "svm"));
        expect(result.status, result.stderr).toBe(0);
      }, 120_000);
    }

    for (const shadowing of ["on", "off"] as const) {
      it(`wasmvisor --nested vmx --vmcs-shadowing ${shadowing} prints guests/nestvisor-${name}.expected and exits with 1`, async () => {
        requireCli();
        const result = await wasmvisor("run", "guests/nestvisor.elf", "--nested", "vmx", "--vmcs-shadowing", shadowing, "--timeout", "100", "--module", module);
        expect(result.stdout).toBe(golden(name));
        expect(result.status, result.stderr).toBe(1);
      }, 120_000);
    }

    it.skipIf(!haveBochs)(`Bochs (ryzen, SVM) prints guests/nestvisor-svm-${name}.expected${bochsSkipNote}`, () => {
      expect(runUnderBochsCpu("ryzen", "guests/nestvisor.elf", module)).toBe(golden(name, "svm"));
    }, BOCHS_TIMEOUT_MS);

    it.skipIf(!haveBochs)(`Bochs (corei7_sandy_bridge_2600k, VMX) prints guests/nestvisor-${name}.expected${bochsSkipNote}`, () => {
      expect(runUnderBochsCpu(undefined, "guests/nestvisor.elf", module)).toBe(golden(name));
    }, BOCHS_TIMEOUT_MS);
  });
}
