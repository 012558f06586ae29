// VMX against an implementation nobody here wrote (issue 18): guests/vmxprobe.elf runs VMX
// instruction sequences and prints each outcome (flags, VM-instruction error numbers);
// guests/vmxentry.elf enters a guest of its own (L2) and prints every exit it gets (an
// entry failure, CPUID, I/O, CR accesses, #UD, HLT, RDTSC, INVLPG, WRMSR, VMCALL, a #PF while an
// injected interrupt and an INT n are delivered, with their IDT-vectoring information) and the
// exit counts. Their golden outputs, guests/NAME.expected, are what Bochs prints (Debian's bochs 2.7,
// CPU model corei7_sandy_bridge_2600k, booted by GRUB: guests/bochs-run.sh). wasmvisor --nested
// vmx must print exactly that; where Bochs is installed the golden copies are re-checked against it.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assert, describe, expect, it } from "vitest";
import { BOCHS_TIMEOUT_MS, bochsSkipNote, haveBochs, runUnderBochs } from "../support/bochs.js";
import { root } from "../support/cli.js";

const cli = join(root, "dist/cli.js");
const golden = (name: string) => readFileSync(join(root, `guests/${name}.expected`), "utf8");

for (const [name, what] of [["vmxprobe", "VMX instruction outcomes"], ["vmxentry", "L2 entry and exits"]]) {
  describe(`guests/${name}.elf: ${what} as Bochs gives them`, () => {
    it(`under wasmvisor --nested vmx prints guests/${name}.expected and exits with 0`, () => {
      if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
      const result = spawnSync(process.execPath, [cli, "run", `guests/${name}.elf`, "--nested", "vmx"], { cwd: root, encoding: "utf8", timeout: 60_000 });
      expect(result.stdout).toBe(golden(name));
      expect(result.status).toBe(0);
    }, 60_000);

    it.skipIf(!haveBochs)(`under Bochs prints guests/${name}.expected${bochsSkipNote}`, () => {
      expect(runUnderBochs(`guests/${name}.elf`)).toBe(golden(name));
    }, BOCHS_TIMEOUT_MS);
  });
}
