// One guest in the browser: the VM the worker runs, its run loop and what it reports to the page.
// The guest runs in short bursts (vm.run with a wall-clock budget of RUN_MS) between which the
// worker's event loop takes the page's messages: input, controls, pause. After each burst the
// session flushes console output to the page, which says when its terminal has drawn it: at most
// CONSOLE_WINDOW bytes are on their way or waiting to be drawn, and a guest that writes faster than
// the terminal draws waits, as for a slow terminal (COM1 busy, short console hypercalls), instead
// of piling megabytes up in the page. Every few bursts it sends the VGA text
// screen (when it changed: as the display update strategy brings it up to date, src/vmm/display-update.ts,
// and at least every SCREEN_MS) and a statistics sample. A guest that halts waiting for an
// interrupt parks the loop until input arrives; one that stops for good reports why, with its
// registers (describeStop and registerDump, as the CLI prints them). Input waits in queues
// (devices/input-queue.ts) that COM1 and the keyboard draw from as the guest makes room. While the
// page's trace panel is open, the last exits go with each statistics sample (exit-trace.ts).
// A machine comes from a kernel booted (with its Multiboot modules: a guest hypervisor's L2 kernel,
// under its CPU's nesting, VMX or SVM) or a state file restored (vm.saveState(), the CLI's format),
// and a reset makes it again from the same source. All machines share the page's disk image
// (page-disk.ts), which the user can replace and download.

import { G_EIP, SR_CS } from "../../../assembly/vmcs-layout.js";
import { compileCore } from "../../core/core.js";
import { keyboardQueue, serialQueue, type InputQueue } from "../../devices/input-queue.js";
import { UnsaveableStateError } from "../../devices/saved-values.js";
import { NAMED_KEYS, keystrokeFor, type Keystroke } from "../../devices/scancodes.js";
import type { ModuleFile } from "../../loader/modules.js";
import { qemuStyleCmdline } from "../../loader/multiboot.js";
import { FrameImage } from "../../display/frame-image.js";
import { readLinear } from "../../vmm/guest-memory.js";
import { readStateFile } from "../../vmm/saved-state.js";
import { HandlerTimer } from "../../vmm/handler-timer.js";
import { describeStop, type StopReason } from "../../vmm/stop-reason.js";
import { VirtualMachine, type VirtualMachineOptions } from "../../vmm/virtual-machine.js";
import { nestingOf } from "../../vmm/vm-config.js";
import type { BootSpec, LiveControls, RunState, StepReport, WorkerMessage } from "../protocol.js";
import { applyControls, needsReboot, readControls } from "./controls.js";
import { PageDisk } from "./page-disk.js";
import { disassemble } from "../../x86/disassembly.js";
import { ExitTrace } from "./exit-trace.js";
import { StatsSampler } from "./stats-sampler.js";

/** Wall-clock budget of one burst of guest execution, and instructions per slice within it. */
const RUN_MS = 20;
const SLICE_INSTRUCTIONS = 250_000;
const SCREEN_MS = 200;
const STATS_MS = 250;
/** Console output the page's terminal has not drawn yet, at most: held here, on its way or waiting in the page. */
const CONSOLE_WINDOW = 256 * 1024;
/** The longest IA-32 instruction. */
const MAX_INSTRUCTION_BYTES = 15;

export type Post = (message: WorkerMessage, transfer?: Transferable[]) => void;

/** What the machine was made from, to make it again on reset. */
type MachineSource =
  | { kind: "kernel"; kernel: Uint8Array; name: string; path: string; cmdline: string; memoryMiB: number; modules: ModuleFile[]; nested: boolean }
  | { kind: "state"; state: Uint8Array; name: string };

export class Session {
  private vm: VirtualMachine | undefined;
  private source: MachineSource | undefined;
  private readonly disk = new PageDisk();
  private controls: LiveControls | undefined;
  private sampler: StatsSampler | undefined;
  private state: RunState = "idle";
  private console: number[] = [];
  /** Console bytes posted to the page that its terminal has not yet drawn or dropped. */
  private consoleUndrawn = 0;
  /** Typed bytes for COM1 and key presses for the keyboard, fed as the guest makes room. */
  private serial: InputQueue<number> | undefined;
  private keys: InputQueue<Keystroke> | undefined;
  private lastScreen: Uint16Array = new Uint16Array(0);
  /** The graphics picture as the page last got it: only what changed since is redrawn and sent. */
  private readonly image = new FrameImage();
  private lastScreenMs = 0;
  private lastStatsMs = 0;
  private readonly trace = new ExitTrace();
  private readonly tick = new MessageChannel();
  /** Counts make() calls: a machine made after a later make() began is dropped. */
  private starts = 0;
  private tickPending = false;

  /** A session on the core's bytes, compiled once here for every boot. */
  static async create(core: Uint8Array<ArrayBuffer>, post: Post): Promise<Session> {
    return new Session(await compileCore(core), post);
  }

  private constructor(
    private readonly core: WebAssembly.Module,
    private readonly post: Post,
  ) {
    // A message to ourselves runs the next burst after any page messages already queued.
    this.tick.port1.onmessage = () => {
      this.tickPending = false;
      this.runBurst();
    };
    this.disk.report(post);
  }

  /**
   * Creates a VM for the kernel and starts it, its command line built as the CLI builds it; a bad
   * kernel or RAM size reports the VMM's message.
   */
  start({ kernel, name, path, cmdline, memoryMiB, controls, modules = [], nested = false }: BootSpec): Promise<boolean> {
    const moduleFiles = modules.map((module) => ({ bytes: new Uint8Array(module.bytes), cmdline: module.cmdline }));
    return this.make({ kind: "kernel", kernel: new Uint8Array(kernel), name, path, cmdline, memoryMiB, modules: moduleFiles, nested }, controls);
  }

  /**
   * Continues the machine saved in `state`, under the controls it was saved with; a file that is
   * not a good state reports why and leaves the current machine running as it was.
   */
  restore(state: Uint8Array, name: string): Promise<boolean> {
    return this.make({ kind: "state", state, name });
  }

  reset(): Promise<boolean> {
    if (!this.source) return Promise.resolve(false);
    return this.make(this.source, this.controls);
  }

  /** The machine as a state file, taken between two bursts; the guest runs on. */
  save(): void {
    if (!this.vm || !this.source) return this.post({ type: "tool-error", message: "boot a guest before saving its state" });
    let buffer: ArrayBufferLike;
    try {
      ({ buffer } = this.vm.saveState());
    } catch (error) {
      if (!(error instanceof UnsaveableStateError)) throw error;
      return this.post({ type: "tool-error", message: error.message });
    }
    this.post({ type: "state-file", bytes: buffer as ArrayBuffer, name: this.source.name }, [buffer as ArrayBuffer]);
  }

  /**
   * A new disk image (an uploaded file) for every machine from now on; a running guest is made
   * again with it, since a disk is attached when a machine is made. If that fails (a restored
   * machine saved with a disk of another size), the old image stays with the old machine.
   */
  async replaceDisk(bytes: Uint8Array, name: string): Promise<void> {
    const undo = this.disk.replace(bytes, name);
    if (this.source && !(await this.reset())) undo();
    this.disk.report(this.post);
  }

  downloadDisk(): void {
    this.disk.download(this.post);
  }

  /**
   * Makes the machine from `source` and runs it in place of the current one, under `controls`
   * (those a restored machine cannot take, its CPUID vendor and a classic or bt IF mode, it keeps). A
   * source that fails reports why, and the current machine runs on. A make() that finishes after a
   * later one began is dropped (the later one decides the machine): that is no failure.
   */
  private async make(source: MachineSource, controls?: LiveControls): Promise<boolean> {
    let vm: VirtualMachine;
    const handlerTimer = new HandlerTimer();
    const host: VirtualMachineOptions & { core: WebAssembly.Module } = {
      core: this.core,
      handlerTimer,
      serialOutput: (byte) => this.console.push(byte),
      consoleRoom: () => CONSOLE_WINDOW - this.consoleUndrawn - this.console.length,
    };
    const start = ++this.starts;
    try {
      vm =
        source.kind === "kernel"
          ? await VirtualMachine.boot(source.kernel, {
              ...host,
              memoryMiB: source.memoryMiB,
              cmdline: qemuStyleCmdline(source.path, source.cmdline),
              ifMode: controls!.ifMode,
              cpuidVendor: controls!.cpuidVendor,
              cpu: controls!.cpu,
              nested: source.nested ? nestingOf(controls!.cpu) : "off",
              modules: source.modules,
              disk: this.disk.image,
            })
          : await this.restoredMachine(source.state, host);
    } catch (error) {
      if (start !== this.starts) return true; // a later make() decides the machine
      // A kernel's problem shows by the guest picker, a state file's (or an image's that does not fit it) by the lab tools.
      this.post({ type: source.kind === "kernel" ? "error" : "tool-error", message: `${source.name}: ${(error as Error).message}` });
      return false;
    }
    if (start !== this.starts) return true;
    this.vm = vm;
    this.source = source;
    this.trace.follow(vm);
    if (controls && !needsReboot(vm.config, controls)) applyControls(vm, controls);
    this.controls = readControls(vm);
    this.sampler = new StatsSampler(vm, handlerTimer);
    this.serial = serialQueue(vm.serial);
    this.keys = keyboardQueue(vm.pc.keyboard);
    this.lastScreen = new Uint16Array(0);
    this.image.forget();
    this.post({ type: "booted", name: source.name, controls: this.controls });
    this.sendScreen();
    this.state = "idle"; // a new machine's state is reported afresh, under its name, even if the last one ran too
    this.setState("running");
    return true;
  }

  /** A machine restored from a state file with the page's disk if it had one; the file is read once for both. */
  private restoredMachine(state: Uint8Array, host: VirtualMachineOptions): Promise<VirtualMachine> {
    const saved = readStateFile(state);
    return VirtualMachine.restore(saved, { ...host, disk: this.disk.forState(saved) });
  }

  /**
   * New controls: written into the VMCS at once, or a reboot for the boot-time ones. A guest that
   * has ended runs again under them, so that a change always shows in the statistics.
   */
  async setControls(controls: LiveControls): Promise<void> {
    const vm = this.vm;
    if (vm && this.source?.kind === "state" && needsReboot(vm.config, controls)) {
      this.post({ type: "error", message: "a restored machine keeps the CPU, the CPUID vendor and the classic or bt IF mode it was saved with: boot a guest to change them" });
      return this.post({ type: "controls", controls: readControls(vm) });
    }
    this.controls = controls;
    if (!vm) return;
    if (this.state === "stopped" || needsReboot(vm.config, controls)) return void (await this.reset());
    applyControls(vm, controls);
    if (this.state === "halted") this.setState("running");
  }

  pause(): void {
    if (this.state === "running" || this.state === "halted") this.setState("paused");
    this.sendStep();
  }

  resume(): void {
    if (this.state === "paused") this.setState("running");
  }

  /** Runs exactly one instruction (its exit, if it has one, handled) and shows where the guest is. */
  step(): void {
    const vm = this.vm;
    if (!vm || this.state === "stopped" || this.state === "idle") return;
    this.setState("paused");
    const result = vm.run({ maxInstructions: vm.instructionsRetired() + 1 });
    this.afterBurst(result.stop, true);
    this.sendStep();
  }

  /** The page opened (or closed) its exit trace panel. */
  traceExits(on: boolean): void {
    this.trace.enable(on);
    this.sendTrace();
  }

  /**
   * The page's terminal drew or dropped `bytes` of console output: a guest waiting for COM1's
   * transmitter may go on. Counted across machines: every byte posted is drawn or dropped once.
   */
  consoleDrawn(bytes: number): void {
    this.consoleUndrawn = Math.max(0, this.consoleUndrawn - bytes);
    this.vm?.consoleDrained();
    this.wake();
  }

  serialInput(bytes: Uint8Array): void {
    this.serial?.push(bytes);
    this.wake();
  }

  /** A key pressed on the VGA screen: a browser key name (KeyboardEvent.key) to the PS/2 keyboard. */
  key(key: string, ctrl: boolean): void {
    let stroke: Keystroke | undefined;
    if (key in NAMED_KEYS) stroke = { key: NAMED_KEYS[key], shift: false, ctrl };
    else if (key.length === 1) stroke = keystrokeFor(ctrl && /[a-z]/i.test(key) ? key.toLowerCase().charCodeAt(0) & 0x1f : key.charCodeAt(0));
    if (stroke) this.keys?.push([stroke]);
    this.wake();
  }

  /** Input may have raised an interrupt: a guest halted waiting for one runs again. */
  private wake(): void {
    if (this.state === "halted") this.setState("running");
  }

  private runBurst(): void {
    const vm = this.vm;
    if (!vm || this.state !== "running") return;
    const result = vm.run({ timeoutSeconds: RUN_MS / 1000, sliceInstructions: SLICE_INSTRUCTIONS });
    this.afterBurst(result.stop, false);
  }

  private afterBurst(stop: StopReason, stepping: boolean): void {
    const vm = this.vm!;
    this.flushConsole();
    const now = performance.now();
    const goingOn = stop.kind === "timeout" || (stepping && stop.kind === "instruction-limit");
    // The display update refreshes at its rate (refresh, dirty-log); trap and pv change the screen as the guest writes.
    if (!goingOn || stepping) vm.display.refresh();
    else vm.display.tick(now);
    if (!goingOn || stepping || vm.display.changed || vm.pc.vga.dirty || now - this.lastScreenMs >= SCREEN_MS) this.sendScreen();
    if (!goingOn || stepping || now - this.lastStatsMs >= STATS_MS) this.sendStats();

    if (goingOn) this.schedule();
    else if (stop.kind === "halted" && stop.interruptsEnabled) this.setState("halted", "halted, waiting for an interrupt (type something)");
    else {
      const reason = describeStop(stop);
      this.setState("stopped", reason);
      this.sendStep(reason);
    }
  }

  private setState(state: RunState, message?: string): void {
    if (state !== this.state || message) this.post({ type: "state", state, message });
    this.state = state;
    this.schedule();
  }

  private schedule(): void {
    if (this.state !== "running" || this.tickPending) return;
    this.tickPending = true;
    this.tick.port2.postMessage(null);
  }

  private flushConsole(): void {
    if (this.console.length === 0) return;
    const { buffer } = Uint8Array.from(this.console);
    this.console = [];
    this.consoleUndrawn += buffer.byteLength;
    this.post({ type: "console", bytes: buffer }, [buffer]);
  }

  /** The screen as the monitor shows it, if anything on it changed since the last one sent. */
  private sendScreen(): void {
    const vm = this.vm!;
    this.lastScreenMs = performance.now();
    const mode = vm.pc.display.mode();
    if (mode.kind !== "text") return this.sendFrame(mode.width, mode.height);
    this.image.forget(); // a graphics mode coming back is drawn whole
    const screen = vm.pc.vga.snapshot(vm.display.screen);
    const changed = vm.pc.vga.dirty || !sameCells(screen.cells, this.lastScreen);
    vm.pc.vga.dirty = false;
    vm.display.takeDamage();
    if (!changed) return;
    this.lastScreen = screen.cells;
    const { buffer } = screen.cells.slice();
    this.post({ type: "screen", cells: buffer, cursor: screen.cursor, blink: screen.blink }, [buffer]);
  }

  /** What changed of a graphics mode's picture (all of it after a mode switch), if anything did. */
  private sendFrame(width: number, height: number): void {
    const vm = this.vm!;
    vm.pc.vga.dirty = false;
    const rect = this.image.update(vm.pc.display, vm.display.screen, vm.display.takeDamage());
    if (!rect) return;
    this.lastScreen = new Uint16Array(0); // text coming back is new again
    const { buffer } = this.image.pixels(rect);
    this.post({ type: "frame", width, height, rect, rgba: buffer }, [buffer]);
  }

  private sendStats(): void {
    if (!this.sampler) return;
    this.lastStatsMs = performance.now();
    this.post({ type: "stats", sample: this.sampler.sample() });
    this.sendTrace();
  }

  private sendTrace(): void {
    const lines = this.trace.take();
    if (lines) this.post({ type: "trace", lines });
  }

  /** Where the guest is: its next instruction and registers, and why it stopped if it has. */
  private sendStep(stopReason?: string): void {
    const vm = this.vm;
    if (!vm) return;
    const eip = (vm.vmcs.segment(SR_CS).base + vm.vmcs.get(G_EIP)) >>> 0;
    const bytes: number[] = [];
    for (let i = 0; i < MAX_INSTRUCTION_BYTES; i++) {
      const byte = readLinear(vm, (eip + i) >>> 0, 1);
      if (byte === undefined) break;
      bytes.push(byte);
    }
    const decoded = disassemble(Uint8Array.from(bytes), eip);
    const report: StepReport = { registers: vm.registerDump(), eip, bytes: bytes.slice(0, decoded.length), disassembly: decoded.text, stopReason };
    this.post({ type: "step", report });
  }
}

function sameCells(a: Uint16Array, b: Uint16Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
