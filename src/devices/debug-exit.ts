// QEMU's isa-debug-exit device, which test kernels use to end the run and report a result: a write
// of value v to its port stops the machine. QEMU itself then exits with process status (v << 1) | 1,
// so that no guest value can look like QEMU's own success; wasmvisor reports the guest's v itself
// (the CLI's exit status is v & 0xff), so a guest that writes 0 means success. The PC port used by
// this project's guests is 0xF4 (QEMU: -device isa-debug-exit,iobase=0xf4,iosize=0x04).

import type { IoSize, PortDevice } from "./device.js";

export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_PORT_COUNT = 4;

/** QEMU's process status for a guest write of `value`, for comparing runs against QEMU. */
export const qemuExitStatus = (value: number): number => ((value << 1) | 1) & 0xff;

export class DebugExit implements PortDevice {
  readonly name = "isa-debug-exit";

  /** `onExit` receives the value the guest wrote; the VM ends the run with it. */
  constructor(private readonly onExit: (value: number) => void) {}

  /** Reads as 0, as QEMU's does. */
  read(_offset: number, _size: IoSize): number {
    return 0;
  }

  write(_offset: number, _size: IoSize, value: number): void {
    this.onExit(value);
  }
}
