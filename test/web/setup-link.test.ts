// The demo's setup links (src/web/page/setup-link.ts): what a setup writes, that reading it back
// gives the same setup, and that every kind of bad value is named in a problem, never applied.

import { describe, expect, it } from "vitest";
import { DEFAULT_CONTROLS, DEFAULT_SETUP, parseSetupHash, setupHash, type Setup } from "../../src/web/page/setup-link.js";

const GUESTS = ["hello", "nestvisor", "shell", "vmexit"];

describe("setup links", () => {
  it("write only what differs from the defaults, so the default setup is an empty hash", () => {
    expect(setupHash(DEFAULT_SETUP)).toBe("");
    expect(setupHash({ ...DEFAULT_SETUP, guest: "vmexit", cmdline: "1000 cpuid", memoryMiB: 64, controls: { ...DEFAULT_CONTROLS, ifMode: "trap", cr3Targets: 3 } })).toBe(
      "guest=vmexit&cmdline=1000+cpuid&mem=64&if-mode=trap&cr3-targets=3",
    );
  });

  it("read back every setting as written", () => {
    const setup: Setup = {
      guest: "shell",
      cmdline: "a b&c=d #e",
      memoryMiB: 2048,
      l2: "vmexit",
      l2Args: "10 cpuid",
      controls: { ifMode: "classic", cr3Targets: 0, hltExiting: false, interceptConsole: false, interceptDisk: false, displayUpdate: "trap", compilingTier: false, cpuidVendor: "none", cpu: "amd", vmcsShadowing: false },
    };
    const hash = setupHash(setup);
    expect(hash).toBe("guest=shell&cmdline=a+b%26c%3Dd+%23e&mem=2048&l2=vmexit&l2-args=10+cpuid&if-mode=classic&cr3-targets=0&hlt-exiting=off&io-console=off&io-disk=off&vga=trap&jit=off&cpuid-vendor=none&cpu=amd&vmcs-shadowing=off");
    expect(parseSetupHash(`#${hash}`, GUESTS)).toEqual({ setup });
  });

  it("take an unnamed setting as its default, not as what the page had", () => {
    expect(parseSetupHash("#guest=hello", GUESTS)).toEqual({ setup: { ...DEFAULT_SETUP, guest: "hello" } });
    expect(parseSetupHash("", GUESTS)).toEqual({ setup: DEFAULT_SETUP });
  });

  it("name each bad value and apply none of them", () => {
    const parsed = parseSetupHash("#guest=nosuch&mem=abc&if-mode=fast&cr3-targets=5&hlt-exiting=yes&vga=blink&cpuid-vendor=intel&cpu=arm&colour=red&mem=64", GUESTS);
    expect(parsed.setup).toBeUndefined();
    expect(parsed.problems).toEqual([
      "guest=nosuch: no such sample guest (there are hello, nestvisor, shell or vmexit)",
      "mem=abc: guest RAM must be a whole number of MiB from 2 to 2048",
      "if-mode=fast: expected vt, trap, classic or bt",
      "cr3-targets=5: expected 0, 1, 2, 3 or 4",
      "hlt-exiting=yes: expected on or off",
      "vga=blink: expected trap, refresh, dirty-log or pv",
      "cpuid-vendor=intel: expected wasmvisor, kvm, hyperv, vmware or none",
      "cpu=arm: expected intel or amd",
      "colour=red: not a setting (a link may set guest, cmdline, mem, l2, l2-args, if-mode, cr3-targets, hlt-exiting, io-console, io-disk, vga, jit, cpuid-vendor, cpu or vmcs-shadowing)",
      "mem=64: given twice",
    ]);
  });

  it("carry the L2 guest for a guest hypervisor and its arguments, as the page's L2 choice", () => {
    const setup: Setup = { ...DEFAULT_SETUP, guest: "nestvisor", l2: "hello", controls: { ...DEFAULT_CONTROLS, vmcsShadowing: false } };
    expect(setupHash(setup)).toBe("guest=nestvisor&l2=hello&vmcs-shadowing=off");
    expect(parseSetupHash("#guest=nestvisor&l2=hello&vmcs-shadowing=off", GUESTS)).toEqual({ setup });
    expect(parseSetupHash("#guest=nestvisor&l2=vmexit&l2-args=3+cpuid", GUESTS)).toEqual({ setup: { ...DEFAULT_SETUP, guest: "nestvisor", l2: "vmexit", l2Args: "3 cpuid" } });
    // Its nesting is its CPU's: SVM on the AMD CPU, which runs a boot sector (a sample that is only an L2) too.
    expect(parseSetupHash("#guest=nestvisor&l2=realmode&cpu=amd", GUESTS, ["realmode"])).toEqual({ setup: { ...DEFAULT_SETUP, guest: "nestvisor", l2: "realmode", controls: { ...DEFAULT_CONTROLS, cpu: "amd" } } });
    expect(parseSetupHash("#guest=realmode", GUESTS, ["realmode"]).problems).toEqual(["guest=realmode: no such sample guest (there are hello, nestvisor, shell or vmexit)"]);
    expect(parseSetupHash("#guest=nestvisor&l2=hello&cpu=amd", GUESTS)).toEqual({ setup: { ...DEFAULT_SETUP, guest: "nestvisor", l2: "hello", controls: { ...DEFAULT_CONTROLS, cpu: "amd" } } });
  });

  it("refuse an L2 that is no sample guest, or nestvisor itself, and arguments without an L2", () => {
    expect(parseSetupHash("#guest=nestvisor&l2=nosuch", GUESTS).problems).toEqual(["l2=nosuch: no such sample guest to run as L2 (there are hello, shell or vmexit)"]);
    expect(parseSetupHash("#l2=nestvisor", GUESTS).problems).toEqual(["l2=nestvisor: no such sample guest to run as L2 (there are hello, shell or vmexit)"]);
    expect(parseSetupHash("#guest=nestvisor&l2-args=5", GUESTS).problems).toEqual(["l2-args=5: arguments for no L2 guest (name it with l2)"]);
    expect(parseSetupHash("#l2=hello&l2=vmexit", GUESTS).problems).toEqual(["l2=vmexit: given twice"]);
  });

  it.each(["0", "-5", "1e9", "2049", "1.5", "", " "])("refuse guest RAM of %j", (mem) => {
    expect(parseSetupHash(`mem=${encodeURIComponent(mem)}`, GUESTS).problems).toEqual([`mem=${mem}: guest RAM must be a whole number of MiB from 2 to 2048`]);
  });
});
