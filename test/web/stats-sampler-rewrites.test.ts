// The page's statistics samples under --if-mode bt carry each rewrite that translated code
// performed instead of exiting, with the VM's own counts (what --stats prints), and a rate per
// second from the growth since the last sample; under other techniques they carry none.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readTranslationStatistics } from "../../src/vmm/bt/translation-stats.js";
import { HandlerTimer } from "../../src/vmm/handler-timer.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { StatsSampler } from "../../src/web/vm/stats-sampler.js";
import { root } from "../support/cli.js";

const kernel = readFileSync(`${root}/guests/vmexit.elf`);
const core = readFileSync(`${root}/build/core.wasm`);

async function sampled(ifMode: "bt" | "trap") {
  const handlerTimer = new HandlerTimer();
  const vm = await VirtualMachine.boot(kernel, { core, handlerTimer, ifMode, cmdline: "vmexit.elf 5000 cli-sti" });
  const sampler = new StatsSampler(vm, handlerTimer);
  expect(vm.run({ timeoutSeconds: 120 }).stop.kind).toBe("guest-exit");
  return { vm, sample: sampler.sample() };
}

describe("statistics samples under bt", () => {
  it("count each rewrite as the VM does, with its rate since the last sample", async () => {
    const { vm, sample } = await sampled("bt");
    const translation = readTranslationStatistics(vm.vmcs);
    const cli = translation.inline.find((r) => r.name === "CLI")!.count;
    expect(cli).toBeGreaterThanOrEqual(5000 + 313); // the operation's loop and its warm-up (n / 16 + 1); the base loop has none
    const rewrite = (name: string) => sample.rewrites!.find((r) => r.name === name)!;
    expect(rewrite("inline CLI").count).toBe(cli);
    expect(rewrite("callout IRET").count).toBe(translation.callouts.find((r) => r.name === "IRET")!.count);
    expect(rewrite("inline CLI").perSecond).toBeGreaterThan(0);
    expect(sample.rewrites!.map((r) => r.name)).toEqual([...translation.inline.map((r) => `inline ${r.name}`), ...translation.callouts.map((r) => `callout ${r.name}`)]);
  }, 120_000);

  it("carry no rewrites under trap", async () => {
    expect((await sampled("trap")).sample.rewrites).toBeUndefined();
  }, 120_000);
});
