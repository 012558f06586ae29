// The four display-update strategies (src/vmm/display-update.ts) on the real core, with
// guests/frames.elf drawing text-mode frames: the whole screen each frame by REP STOSW and a plain
// store loop ("full"), or a 10-cell counter over a static screen ("small"), reporting each frame's
// rectangle by hypercall with "pv". What each must guarantee: the screen equals the frame buffer
// whenever the strategy has done its part (at any exit under trap, after a refresh under refresh
// and dirty-log, after a reported frame under pv), and each costs the exits it should.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EXIT_VMCALL, EXIT_WRITE_TRAP } from "../../assembly/vmcs-layout.js";
import { VGA_TEXT_BASE, VGA_TEXT_SIZE } from "../../src/devices/vga-text.js";
import { HC_DISPLAY_RECT, HC_EINVAL } from "../../src/vmm/hypercalls.js";
import { DISPLAY_UPDATES, frameBufferLayout, parseDisplayUpdate, type DisplayUpdate } from "../../src/vmm/display-update.js";
import { VirtualMachine } from "../../src/vmm/virtual-machine.js";
import { FrameImage } from "../../src/display/frame-image.js";
import { bootTiny, core, EXIT_OK } from "../support/tiny-guest.js";

const FRAMES = readFileSync(new URL("../../guests/frames.elf", import.meta.url));
const SLICE = 20_000; // instructions between two looks at the screen: many per frame

async function boot(displayUpdate: DisplayUpdate, args: string, compilingTier = true): Promise<{ vm: VirtualMachine; console: () => string }> {
  const bytes: number[] = [];
  const vm = await VirtualMachine.boot(FRAMES, { core, memoryMiB: 4, cmdline: `frames ${args}`, displayUpdate, compilingTier, serialOutput: (b) => bytes.push(b) });
  return { vm, console: () => String.fromCharCode(...bytes) };
}

const frameBuffer = (vm: VirtualMachine) => vm.ram.slice(VGA_TEXT_BASE, VGA_TEXT_BASE + VGA_TEXT_SIZE);
const screenMatches = (vm: VirtualMachine) => Buffer.compare(Buffer.from(vm.display.screen), Buffer.from(frameBuffer(vm))) === 0;

/** Runs to the guest's exit in slices; at each slice end `check` looks at the VM. Returns the slices. */
function runInSlices(vm: VirtualMachine, check: () => void): number {
  let slices = 0;
  for (; slices < 10_000; slices++) {
    const { stop } = vm.run({ maxInstructions: vm.vmcs.instructionsRetired() + SLICE });
    check();
    if (stop.kind !== "instruction-limit") {
      expect(stop).toEqual({ kind: "guest-exit", code: 0 });
      return slices;
    }
  }
  throw new Error("the guest did not finish");
}

describe.each([true, false])("display update (compiling tier %s)", (jit) => {
  describe.each(["full", "small"])("frames %s", (kind) => {
    it("trap: every write exits, and the screen equals the frame buffer at every exit", async () => {
      const { vm } = await boot("trap", `10 ${kind}`, jit);
      let mismatches = 0;
      vm.onExit((exit) => {
        if (exit.reason === EXIT_WRITE_TRAP && !screenMatches(vm)) mismatches++;
      });
      runInSlices(vm, () => expect(screenMatches(vm)).toBe(true));
      expect(mismatches).toBe(0);
      // full: 2000 cells of REP STOSW and 25 stores a frame; small: 10 cells
      expect(vm.stats.count(EXIT_WRITE_TRAP)).toBeGreaterThanOrEqual(10 * (kind === "full" ? 2025 : 10));
    });

    it("refresh: no exits; each refresh copies the whole frame buffer", async () => {
      const { vm } = await boot("refresh", `30 ${kind}`, jit);
      const slices = runInSlices(vm, () => {
        vm.display.refresh();
        expect(screenMatches(vm)).toBe(true);
      });
      expect(vm.stats.count(EXIT_WRITE_TRAP)).toBe(0);
      expect(vm.display.counts.bytesCopied).toBe((slices + 2) * VGA_TEXT_SIZE); // and once at boot
    });

    it("dirty-log: one exit per page written between refreshes, and no write is lost", async () => {
      const { vm } = await boot("dirty-log", `30 ${kind}`, jit);
      let refreshes = 0;
      runInSlices(vm, () => {
        vm.display.refresh();
        refreshes++;
        expect(screenMatches(vm)).toBe(true);
      });
      const exits = vm.stats.count(EXIT_WRITE_TRAP);
      // each exit logs one page (two for a write across a page boundary, which this guest has not)
      expect(vm.display.counts.dirtyPages).toBe(exits);
      // the 4000 bytes of 80x25 lie in the first page of the frame buffer
      expect(exits).toBeLessThanOrEqual(refreshes);
      expect(exits).toBeGreaterThan(0);
      expect(vm.display.counts.bytesCopied).toBe(VGA_TEXT_SIZE + exits * 0x1000);
    });

    it("pv: no write-trap exits; the reported rectangles bring the screen up to date", async () => {
      const { vm } = await boot("pv", `30 ${kind} pv`, jit);
      runInSlices(vm, () => {});
      expect(vm.stats.count(EXIT_WRITE_TRAP)).toBe(0);
      expect(screenMatches(vm)).toBe(true);
      // full: one 80x25 rectangle a frame; small: one 10x1 rectangle a frame (and the static screen once)
      const perFrame = kind === "full" ? 4000 : 20;
      expect(vm.display.counts.bytesCopied).toBe(VGA_TEXT_SIZE + 30 * perFrame + (kind === "small" ? 4000 : 0));
    });
  });
});

describe("display update", () => {
  it("pv: a guest that reports nothing leaves the screen as it was", async () => {
    const { vm } = await boot("pv", "5 small");
    runInSlices(vm, () => {});
    expect(screenMatches(vm)).toBe(false);
    expect(vm.display.screen.every((byte) => byte === 0)).toBe(true);
  });

  it("switching strategy while the guest runs brings the screen up to date at once", async () => {
    const { vm } = await boot("pv", "40 full");
    vm.run({ maxInstructions: 200_000 });
    for (const strategy of DISPLAY_UPDATES) {
      vm.run({ maxInstructions: vm.vmcs.instructionsRetired() + 30_000 });
      vm.display.setStrategy(strategy);
      expect(screenMatches(vm)).toBe(true);
    }
  });

  it.each([
    ["outside the 80 columns", "$(70 | 0 << 16)", "$(11 | 1 << 16)"],
    ["below the frame buffer's rows", "$(0 | 200 << 16)", "$(1 | 5 << 16)"],
    ["empty", "$0", "$(0 | 1 << 16)"],
  ])("HC_DISPLAY_RECT refuses a rectangle %s with EINVAL", async (_, position, size) => {
    const { vm } = await bootTiny(`mov $${HC_DISPLAY_RECT}, %eax\nmov ${position}, %ebx\nmov ${size}, %ecx\nvmcall\nmov %eax, %esi\n${EXIT_OK}`, { displayUpdate: "pv" });
    vm.run({ maxInstructions: 10_000 });
    expect(vm.stats.count(EXIT_VMCALL)).toBe(1);
    expect(vm.vmcs.reg(6) | 0).toBe(HC_EINVAL);
  });

  it("names the strategies, and refuses others in one line", () => {
    expect(parseDisplayUpdate("dirty-log")).toBe("dirty-log");
    expect(() => parseDisplayUpdate("vsync")).toThrow(/unknown display update "vsync": use one of trap, refresh, dirty-log, pv/);
  });
});

// The same guarantees on the graphics frame buffers (guests/gfxdemo.elf): mode 13h's 64,000 bytes
// at 0xA0000 (plasma: every pixel, four to a 32-bit store, each frame) and a dispi mode's frame in
// PCI BAR 0 (sprite: a 24x24 ball moving over a static 640x480x32 picture).
const GFXDEMO = readFileSync(new URL("../../guests/gfxdemo.elf", import.meta.url));
const PAGE = 0x1000;

async function bootDemo(displayUpdate: DisplayUpdate, args: string): Promise<VirtualMachine> {
  return VirtualMachine.boot(GFXDEMO, { core, memoryMiB: 4, cmdline: `gfxdemo ${args}`, displayUpdate, serialOutput: () => {} });
}

/** The share of the guest's instructions that compiled code retired. */
const compiledShare = (vm: VirtualMachine) => vm.vmcs.compiledInstructions() / vm.vmcs.instructionsRetired();

/** The frame the std-VGA shows now, from guest memory, and whether the screen copy equals it. */
function graphicsScreenMatches(vm: VirtualMachine): boolean {
  const { frame } = vm.pc.display.mode();
  return frame.size > 0 && vm.display.screen.length === frame.size && Buffer.compare(Buffer.from(vm.display.screen), Buffer.from(vm.physicalView(frame.base, frame.size))) === 0;
}

describe.each([
  ["plasma", "plasma 3", 320 * 200, 0xa0000],
  ["sprite", "sprite 40 320 240 32", 320 * 240 * 4, 0xfd000000],
])("display update on %s", (_, args, frameBytes, frameBase) => {
  it("trap: every store to the frame exits and is on the screen at once", async () => {
    const vm = await bootDemo("trap", args);
    let mismatches = 0, trapped = 0;
    vm.onExit((exit) => {
      // the whole frame at every 997th exit: comparing it at each would take minutes
      if (exit.reason === EXIT_WRITE_TRAP && ++trapped % 997 === 0 && !graphicsScreenMatches(vm)) mismatches++;
    });
    runInSlices(vm, () => expect(graphicsScreenMatches(vm)).toBe(true));
    expect(mismatches).toBe(0);
    expect(vm.pc.display.mode().frame).toEqual({ base: frameBase, size: frameBytes });
    expect(compiledShare(vm)).toBeGreaterThan(0.5); // the trap lies outside plain RAM: compiled code leaves its stores to the core
    // plasma: 16,000 32-bit stores a frame; sprite: the picture's pixels once, then the ball's
    expect(vm.stats.count(EXIT_WRITE_TRAP)).toBeGreaterThanOrEqual(args.startsWith("plasma") ? 3 * 16_000 : 320 * 240);
  });

  it("refresh: no write-trap exits; each refresh copies the whole frame", async () => {
    const vm = await bootDemo("refresh", args);
    runInSlices(vm, () => {
      vm.display.refresh();
      expect(graphicsScreenMatches(vm)).toBe(true);
    });
    expect(vm.stats.count(EXIT_WRITE_TRAP)).toBe(0);
    expect((vm.display.counts.bytesCopied - VGA_TEXT_SIZE) % frameBytes).toBe(0); // the text screen once, at boot
  });

  it("dirty-log: at most one exit per page between refreshes, only dirty pages copied, no write lost", async () => {
    const vm = await bootDemo("dirty-log", args);
    const pages = Math.ceil(frameBytes / PAGE);
    let refreshes = 0;
    runInSlices(vm, () => {
      const before = vm.stats.count(EXIT_WRITE_TRAP);
      vm.display.refresh();
      refreshes++;
      expect(vm.display.counts.lastDirtyPages).toBeLessThanOrEqual(pages);
      expect(graphicsScreenMatches(vm)).toBe(true);
      expect(vm.stats.count(EXIT_WRITE_TRAP)).toBe(before);
    });
    const exits = vm.stats.count(EXIT_WRITE_TRAP);
    expect(exits).toBeGreaterThan(0);
    expect(exits).toBeLessThanOrEqual(refreshes * pages);
    expect(compiledShare(vm)).toBeGreaterThan(0.5);
    expect(vm.display.counts.dirtyPages).toBeGreaterThanOrEqual(exits);
  });

  it("pv: no write-trap exits; the reported rectangles bring the screen up to date", async () => {
    const vm = await bootDemo("pv", `${args} pv`);
    runInSlices(vm, () => {});
    expect(vm.stats.count(EXIT_WRITE_TRAP)).toBe(0);
    expect(graphicsScreenMatches(vm)).toBe(true);
  });
});

// What a monitor gets: the damage (takeDamage()) must cover every pixel the screen copy changed,
// so that a picture redrawn from the damage alone is the picture drawn whole; and how long each
// frame took from the guest's report to the screen copy (frameTiming), here on the virtual clock.
describe.each([
  ["plasma", "plasma 3"],
  ["sprite", "sprite 40 320 240 32"],
])("what the monitor gets on %s", (demo, args) => {
  it.each(DISPLAY_UPDATES)("%s: a picture redrawn from the damage alone equals the picture drawn whole, after every slice", async (strategy) => {
    const vm = await bootDemo(strategy, `${args}${strategy === "pv" ? " pv" : ""}`);
    const image = new FrameImage();
    const areas: number[] = []; // redrawn after the static picture, from the guest's "frames start"
    let console = "";
    vm.onConsole((byte) => void (console += String.fromCharCode(byte)));
    runInSlices(vm, () => {
      vm.display.refresh();
      const mode = vm.pc.display.mode();
      if (mode.kind !== "graphics") return void vm.display.takeDamage();
      const rect = image.update(vm.pc.display, vm.display.screen, vm.display.takeDamage());
      if (rect && console.includes("frames start")) areas.push(rect.width * rect.height);
      const whole = new Uint8Array(mode.width * mode.height * 4);
      vm.pc.display.render(whole, undefined, vm.display.screen);
      expect(Buffer.compare(Buffer.from(image.rgba), Buffer.from(whole))).toBe(0);
    });
    const [width, height] = demo === "plasma" ? [320, 200] : [320, 240];
    // Every slice of the sprite's frames: refresh redraws it whole; trap and pv the ball's
    // squares; the dirty log the lines of its pages (24 lines of 1,280 bytes: at most 10 pages).
    const largest = { refresh: width * height, trap: 27 * 26 * 4, pv: 27 * 26 * 4, "dirty-log": width * Math.ceil((11 * PAGE) / (width * 4) + 1) }[strategy];
    if (demo === "sprite") expect(Math.max(...areas.slice(1))).toBeLessThanOrEqual(largest);
  });

  it.each(DISPLAY_UPDATES)("%s: each frame's delay to the screen copy is the time from its report to the copy that brings it", async (strategy) => {
    const vm = await bootDemo(strategy, `${args} pv`); // every frame reported, under any strategy
    const measured: number[] = [];
    vm.display.frameTiming = { clock: () => vm.vmcs.instructionsRetired(), delay: (d) => measured.push(d) };
    const reports: number[] = [];
    vm.onExit((exit) => {
      if (exit.reason === EXIT_VMCALL && exit.detail.startsWith("display-rect")) reports.push(exit.instructions);
    });
    const refreshes: number[] = [];
    runInSlices(vm, () => {
      vm.display.refresh();
      refreshes.push(vm.vmcs.instructionsRetired());
    });
    // Under trap and pv the frame is on the screen copy at its report; under refresh and the dirty
    // log at the first refresh after it.
    const shown = (at: number) => (strategy === "trap" || strategy === "pv" ? at : refreshes.find((r) => r >= at)!);
    const delays = reports.map((at) => shown(at) - at);
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(measured).toEqual(delays);
    if (strategy === "refresh" || strategy === "dirty-log") expect(Math.max(...delays)).toBeGreaterThan(0);
  });
});

describe("display update across modes", () => {
  it("follows a switch from text to mode 13h at the guest's register write: the trap moves to 0xA0000", async () => {
    const vm = await bootDemo("trap", "plasma 1");
    expect(vm.display.layout.base).toBe(0xb8000);
    runInSlices(vm, () => {});
    expect(vm.display.layout).toMatchObject({ base: 0xa0000, size: 64_000, pitch: 320, bytesPerPixel: 1 });
    expect(vm.stats.count(EXIT_WRITE_TRAP)).toBeGreaterThanOrEqual(16_000);
    expect(graphicsScreenMatches(vm)).toBe(true);
  });

  it("the sprite's pv frames copy only the ball's rectangles: a few KiB, not the 300 KB frame", async () => {
    const vm = await bootDemo("pv", "sprite 40 320 240 32 pv");
    runInSlices(vm, () => {});
    const picture = 320 * 240 * 4;
    // the text screen at boot, the mode switch's copy and the picture's rectangle
    const perFrame = (vm.display.counts.bytesCopied - VGA_TEXT_SIZE - 2 * picture) / 40;
    expect(perFrame).toBeGreaterThan(0);
    expect(perFrame).toBeLessThanOrEqual((24 + 3) * (24 + 2) * 4);
  });

  it("HC_DISPLAY_RECT refuses a rectangle outside a graphics frame with EINVAL, and takes one inside", async () => {
    const vm = await bootDemo("pv", "sprite 1 320 240 32 pv");
    runInSlices(vm, () => {});
    expect(vm.display.reportRectangle(310, 0, 11, 1)).toBe(false);
    expect(vm.display.reportRectangle(0, 239, 1, 2)).toBe(false);
    expect(vm.display.reportRectangle(319, 239, 1, 1)).toBe(true);
  });
});

// A guest that drives the VGA, dispi, DAC and PCI configuration ports with garbage (BAR 0 of the
// std-VGA included) and stores all over the legacy window and where BAR 0 was: under every
// strategy the run ends cleanly (the guest may lose its own code to a BAR it moved over it: that
// is what hardware gives it too), and the screen copy never exceeds the video memory.
const GARBAGE_PORTS = [0x3c0, 0x3c4, 0x3c5, 0x3c7, 0x3c8, 0x3c9, 0x3ce, 0x3cf, 0x3d4, 0x3d5, 0x1ce, 0x1cf, 0x1cf, 0xcf8, 0xcfc, 0xcfe];
const GARBAGE_GUEST = `
mov $12345, %esi
mov $40000, %edi
1: imul $1103515245, %esi, %esi
add $12345, %esi
mov %esi, %ebx
shr $8, %ebx
test $1, %ebx
jnz 3f
test $2, %ebx
jz 5f
mov $0x80001010, %eax
mov $0xcf8, %dx
out %eax, %dx
5: mov %ebx, %ecx
shr $2, %ecx
and $15, %ecx
movzwl ports(,%ecx,2), %edx
mov %esi, %eax
test $0x100, %ebx
jz 2f
out %eax, %dx
jmp 4f
2: out %al, %dx
jmp 4f
3: mov %ebx, %ecx
shr $1, %ecx
and $0x3ffffc, %ecx
test $0x200, %ebx
jz 6f
and $0x1fffc, %ecx
add $0xa0000, %ecx
jmp 7f
6: add $0xfd000000, %ecx
7: mov %esi, (%ecx)
4: dec %edi
jnz 1b
${EXIT_OK}
ports: .word ${GARBAGE_PORTS.join(", ")}`;

describe("a guest that drives the display's ports and memory with garbage", () => {
  it.each(DISPLAY_UPDATES)("%s: ends cleanly, the screen no larger than the video memory", async (strategy) => {
    const { vm } = await bootTiny(GARBAGE_GUEST, { displayUpdate: strategy });
    let largest = 0;
    for (let slice = 0; slice < 200; slice++) {
      const { stop } = vm.run({ maxInstructions: vm.vmcs.instructionsRetired() + 20_000 });
      vm.display.refresh();
      largest = Math.max(largest, vm.display.screen.length);
      if (stop.kind !== "instruction-limit") break;
    }
    expect(largest).toBeLessThanOrEqual(0x200000);
    expect(vm.display.screen.length).toBe(frameBufferLayout(vm.pc.display.mode()).size);
  });
});
