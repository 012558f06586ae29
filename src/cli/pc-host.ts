// What `wasmvisor run` connects the guest's PC devices to on the host: the disk image file
// (--disk, --disk-readonly), the terminal's input (to COM1, or to the PS/2 keyboard when the VGA
// screen is on show), the VGA screen in the terminal (--display vga) and as a picture at the end
// (--screenshot), and which clock the devices run on (--clock). finish() undoes it all and is
// called however the run ends: the terminal is restored and every disk write is flushed.

import { writeFileSync } from "node:fs";
import { screenshotPng } from "../display/screenshot.js";
import type { ClockMode } from "../vmm/virtual-clock.js";
import type { VirtualMachine, VirtualMachineOptions } from "../vmm/virtual-machine.js";
import { vgaFont } from "../web/vga-font.js";
import type { ChunkWriter } from "./console-output.js";
import { FileDisk } from "./file-disk.js";
import { nonBlockingStdout } from "./stdout-writer.js";
import { TerminalInput } from "./terminal-input.js";
import { VgaDisplay } from "./vga-display.js";
import type { DisplayUpdate } from "../vmm/display-update.js";

export interface PcHostOptions {
  disk?: string;
  diskReadonly?: boolean;
  display?: "vga";
  screenshot?: string;
  displayUpdate?: DisplayUpdate;
  refreshHz: number;
  clock: ClockMode;
}

export class PcHost {
  private readonly disk: FileDisk | undefined;
  private display: VgaDisplay | undefined;
  private input: TerminalInput | undefined;
  private vm: VirtualMachine | undefined;

  /** Opens the disk image (a UsageError if it cannot be) and takes over the terminal for --display. */
  constructor(private readonly options: PcHostOptions) {
    if (options.disk !== undefined) this.disk = new FileDisk(options.disk, options.diskReadonly === true);
  }

  /** What the VM is created with. */
  vmOptions(): Pick<VirtualMachineOptions, "disk" | "displayUpdate" | "refreshHz" | "clock"> {
    const { displayUpdate, refreshHz, clock } = this.options;
    return { disk: this.disk, displayUpdate, refreshHz, clock };
  }

  /**
   * Where COM1's output goes: stdout (never waiting for its reader), or with --display vga the
   * rows below the screen (nowhere if the terminal has no room for them).
   */
  consoleWriter(): ChunkWriter {
    if (this.options.display !== "vga") return nonBlockingStdout();
    return (chunk) => {
      const wrap = this.display?.console;
      if (wrap !== undefined) process.stdout.write(wrap(Buffer.from(chunk).toString("latin1")));
      return chunk.length;
    };
  }

  /** Connects the terminal and the screen to a booted VM; `quit` ends the run (Ctrl-A x). */
  attach(vm: VirtualMachine, quit: () => void): void {
    this.vm = vm;
    if (this.options.display === "vga") this.display = new VgaDisplay(vm);
    const target = this.display ? { kind: "keyboard" as const, keyboard: vm.pc.keyboard } : { kind: "serial" as const, uart: vm.pc.com1 };
    this.input = TerminalInput.open(target, quit);
    vm.hostInput = this.input;
  }

  /** At every run-loop slice: take the user's input, refresh the screen. */
  onSlice(): void {
    this.input?.poll();
    this.display?.refresh();
  }

  /** Restores the terminal, draws and saves the final screen, flushes and closes the disk image. */
  finish(): void {
    try {
      this.input?.close();
      this.display?.finish();
      if (this.options.screenshot !== undefined && this.vm !== undefined) {
        this.vm.display.refresh(); // the monitor's last refresh, under the strategies that refresh
        writeFileSync(this.options.screenshot, screenshotPng(this.vm.pc.display, this.vm.display.screen, vgaFont()));
      }
    } finally {
      this.disk?.close();
    }
  }
}
