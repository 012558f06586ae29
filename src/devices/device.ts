// The interface every port-I/O device implements, after Firecracker's legacy bus devices: the bus
// calls read/write with the port's offset inside the range the device was registered for, so a
// device knows nothing of where it sits, of the bus, or of other devices. Devices are driven (and
// unit-tested) through this interface alone. A device that interrupts is handed an IrqLine, the
// wire to its interrupt-controller input, which it drives high or low as the hardware would.

/** Access width in bytes: IN/OUT of a byte, word or dword. */
export type IoSize = 1 | 2 | 4;

export interface PortDevice {
  /** Short name for stats and error messages, e.g. "serial-16550". */
  readonly name: string;
  /** Value of an IN from base + offset; only the low `size` bytes are used. */
  read(offset: number, size: IoSize): number;
  /** An OUT of the low `size` bytes of `value` to base + offset. */
  write(offset: number, size: IoSize, value: number): void;
}

/** An interrupt request line: the device sets its level (ISA interrupts act on the rising edge). */
export type IrqLine = (level: boolean) => void;

/** A line connected to nothing, for a device used on its own. */
export const UNCONNECTED: IrqLine = () => {};
