// VMX against an implementation nobody here wrote (issue 18): guests/vmxprobe.elf runs VMX
// instruction sequences and prints each outcome (flags, VM-instruction error numbers). Its golden
// output, guests/vmxprobe.expected, is what Bochs prints (Debian's bochs 2.7, CPU model
// corei7_sandy_bridge_2600k, booted by GRUB: guests/bochs-run.sh). wasmvisor --nested vmx must
// print exactly that; where Bochs is installed the golden copy is re-checked against it.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli.js");
const golden = () => readFileSync(join(root, "guests/vmxprobe.expected"), "utf8");
const TIMEOUT_MS = 300_000;

const haveBochs = ["bochs", "grub-mkrescue", "xorriso"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
const skipNote = haveBochs ? "" : " [skipped: bochs, grub-mkrescue or xorriso is not installed; .ci/run installs them]";

describe("guests/vmxprobe.elf: VMX instruction outcomes as Bochs gives them", () => {
  it("under wasmvisor --nested vmx prints guests/vmxprobe.expected and exits with 0", () => {
    if (!existsSync(cli)) assert.fail("dist/cli.js is missing: build it first (npm run build)");
    const result = spawnSync(process.execPath, [cli, "run", "guests/vmxprobe.elf", "--nested", "vmx"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(result.stdout).toBe(golden());
    expect(result.status).toBe(0);
  }, 60_000);

  it.skipIf(!haveBochs)(`under Bochs prints guests/vmxprobe.expected${skipNote}`, () => {
    const result = spawnSync("sh", ["guests/bochs-run.sh", "guests/vmxprobe.elf"], { cwd: root, encoding: "utf8", timeout: TIMEOUT_MS });
    expect(result.stdout).toBe(golden());
  }, TIMEOUT_MS);
});
