// The forged-state-file campaign (`fuzz --state-files`): its forgeries are state files with a
// right checksum and hostile values, the same for the same seed; its check accepts a clean
// refusal and a file that restores and runs, and flags any other failure of the restore; and the
// command runs end to end. (Hangs are the worker watchdog's, case-runner.ts.)

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeStateFile, encodeStateFile } from "../../src/vmm/state-file.js";
import { forgeStateFile } from "../../src/fuzz/state-campaign.js";
import { checkStateCase } from "../../src/fuzz/state-check.js";
import { stateSeeds, type StateSeed } from "../../src/fuzz/state-seeds.js";
import { Rng } from "../../src/fuzz/rng.js";
import { core } from "../support/tiny-guest.js";

describe("fuzz --state-files", () => {
  let seeds: StateSeed[];
  beforeAll(async () => {
    seeds = await stateSeeds();
  }, 60_000);
  const seedNamed = (name: string) => seeds.find((seed) => seed.name.startsWith(name) && seed.name.endsWith("busy"))!;

  it("forges the same files from the same seed, each a state file with a right checksum and changed values", () => {
    const forge = (index: number) => forgeStateFile(new Rng(7, index), seeds, new Map());
    for (let index = 0; index < 100; index++) {
      const { seed, file, changed } = forge(index);
      expect(changed.length).toBeGreaterThanOrEqual(1);
      // Compared as text and bytes: vitest's deep comparison of a 100,000-entry list takes minutes.
      expect(JSON.stringify(decodeStateFile(file).json)).not.toBe(JSON.stringify(decodeStateFile(seed.file).json));
      expect(Buffer.compare(forge(index).file, file)).toBe(0);
    }
  });

  it("saves machines with every device busy: timer events, a transfer in progress, queued input", () => {
    const { devices, vmm } = decodeStateFile(seedNamed("diskbench").file).json as Record<string, any>;
    expect(devices.pit.channels[0].edge).not.toBeNull();
    expect([devices.rtc.periodic, devices.rtc.secondly]).not.toContain(null);
    expect(devices.ata.transfer).toEqual({ write: true, lba: 11, left: 2 });
    expect(devices.keyboard.keyboardQueue.length).toBeGreaterThan(0);
    expect(vmm.timer.deadlines.length).toBe(2);
  });

  it("accepts a file that restores and runs, and one refused at the restore", async () => {
    const seed = seedNamed("diskbench");
    const restored = await checkStateCase(core, { file: seed.file, disk: seed.disk });
    expect(restored.problems).toEqual([]);
    expect(restored.reasons.length).toBeGreaterThan(0);
    const { json, cpu, ram } = decodeStateFile(seed.file);
    (json as Record<string, any>).devices.pit.channels[0].count = 0;
    const refused = await checkStateCase(core, { file: encodeStateFile(json, cpu, ram), disk: seed.disk });
    expect(refused).toEqual({ problems: [], reasons: [], compiledBlocks: 0, executions: 1, work: 0, guestMs: 0 });
  });

  it("flags a restore that fails with anything but a one-line SavedStateError", async () => {
    const seed = seedNamed("tour");
    const broken = await checkStateCase(new Uint8Array([0, 0x61, 0x73, 0x6d]), { file: seed.file, disk: seed.disk }); // no core to restore with
    expect(broken.problems).toHaveLength(1);
    expect(broken.problems[0]).toMatch(/^the restore failed with something other than a one-line SavedStateError: /);
  });

  it("runs a short campaign from the command line and reports what it did", () => {
    const fuzz = fileURLToPath(new URL("../../dist/fuzz.js", import.meta.url));
    const r = spawnSync(process.execPath, [fuzz, "--state-files", "--seconds", "3", "--seed", "5"], { encoding: "utf8", timeout: 120_000 });
    expect(r.stderr).toMatch(/^20 saved machines to forge from: tour at \d+, .*, svmentry at \d+, busy$/m);
    expect(r.stderr).toMatch(/^\d+ of \d+ forged files made no VM exit/m);
    expect(r.stdout).toMatch(/^\d+ cases, \d+ executions in [\d.]+ s/);
    expect(r.stdout).toContain("no problems found");
    expect(r.status).toBe(0);
  }, 120_000);
});
