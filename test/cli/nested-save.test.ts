// --save-state while a nested guest (L2) runs: the machine cannot be saved then, and the CLI says
// so on one line instead of an internal error, and writes no file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

it("--save-state of a run that stopped inside L2 says why it cannot save, in one line, and writes nothing", () => {
  const state = join(mkdtempSync(join(tmpdir(), "wasmvisor-nested-")), "l2.state");
  // guests/vmxentry.elf's program B loops 3 million instructions in L2: the limit stops it there.
  const result = spawnSync(process.execPath, [join(root, "dist/cli.js"), "run", "guests/vmxentry.elf", "--nested", "vmx", "--max-instructions", "1000000", "--save-state", state], { cwd: root, encoding: "utf8", timeout: 60_000 });
  expect(result.stderr).toBe("wasmvisor: --save-state: cannot save the machine while its guest hypervisor's guest (L2) runs; save it while L1 runs\n");
  expect(result.status).toBe(1);
  expect(existsSync(state)).toBe(false);
});
