// A 16550A UART, the PC's COM port (COM1 at 0x3F8 on IRQ 4, COM2 at 0x2F8 on IRQ 3): the guest's
// console. Register semantics follow the PC16550D data sheet and QEMU's hw/char/serial.c: the
// divisor latch behind LCR.DLAB, IER/IIR with the interrupt priorities (line status, received data
// or character timeout, transmitter empty, modem status), FCR with 16-byte FIFOs and the receive
// trigger level, LSR, MCR with loopback (transmitted bytes come back as received bytes and MSR
// follows MCR, deltas included), MSR and the scratch register.
// Transmitting is instantaneous while the host can take the bytes: a byte written to THR goes to
// the sink at once and THR is empty again, so a guest that polls LSR does not wait, and one that
// uses THRE interrupts gets one per byte. The host says how much more it can take (txRoom, e.g.
// a console buffer in front of a pipe nobody reads); while that is less than the transmitter
// holds (the 16-byte FIFO, or THR alone), the transmitter stays busy, as QEMU's does when its
// character device pushes back: LSR.THRE and TEMT clear and no THRE interrupt until the host has
// made room and says so (txRoomGrew), or the guest reads LSR and finds room. A byte written when
// there is no room at all is lost, as one written over a full THR is. Received bytes come from
// the host through receive(); the host offers no more than rxRoom() allows and hears from
// onRxRoom when the guest has made room, which is how a terminal's input waits for a guest that
// reads slowly instead of overrunning it. Without a timer, the character-timeout interrupt (FIFO
// mode, data below the trigger level) is raised at once.
// As on a PC, the interrupt reaches the PIC only while MCR.OUT2 is set. saveState()/restoreState()
// carry the registers (LSR with whether the transmitter is busy), the receive FIFO and the
// interrupt line's level across a saved machine.

import { UNCONNECTED, type IoSize, type IrqLine, type PortDevice } from "./device.js";
import { plainLatch, type Latch } from "./latch.js";
import { StatePath } from "./saved-values.js";

export const COM1_PORT = 0x3f8;
export const COM2_PORT = 0x2f8;
export const COM1_IRQ = 4;
export const COM2_IRQ = 3;
export const SERIAL_PORT_COUNT = 8;

// Register offsets from the base port.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
/** The scratch register's offset: it holds what was last written, nothing else. */
export const SCRATCH_REGISTER = 7;

const LCR_DLAB = 0x80;
const LCR_BREAK = 0x40;
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IER_RLSI = 0x04;
const IER_MSI = 0x08;
const IIR_NONE = 0x01;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c;
const IIR_FIFOS_ENABLED = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const MCR_OUT2 = 0x08;
const MCR_LOOPBACK = 0x10;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_BI = 0x10;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_ERRORS = 0x1e;
const MSR_DELTAS = 0x0f;
const MSR_TERI = 0x04;
const MSR_RI = 0x40;
// Modem status lines a terminal asserts: carrier detect, data set ready, clear to send.
const MSR_TERMINAL = 0xb0;
const FIFO_DEPTH = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

export type SerialSink = (byte: number) => void;

export interface Serial16550State {
  divisor: number;
  ier: number;
  fcr: number;
  lcr: number;
  mcr: number;
  lsr: number;
  msr: number;
  scr: number;
  thrInterrupt: boolean;
  fifo: number[];
  irqLevel: boolean;
}

export class Serial16550 implements PortDevice {
  readonly name: string;
  /** Called when the guest has taken received bytes and rxRoom() grew. */
  onRxRoom: () => void = () => {};
  /** How many more bytes the host end of the line can take now (default: no limit). */
  txRoom: () => number = () => Infinity;
  private divisor = 12; // 9600 baud from the 1.8432 MHz clock, as after a BIOS sets the port up
  private ier = 0;
  private fcr = 0;
  private lcr = 0x03; // 8 data bits, no parity, 1 stop bit
  private mcr = 0;
  private lsr = LSR_THRE | LSR_TEMT;
  private msr = MSR_TERMINAL;
  private thrInterrupt = false;
  private readonly fifo: number[] = [];
  private irqLevel = false;

  constructor(
    private readonly sink: SerialSink,
    private readonly irq: IrqLine = UNCONNECTED,
    name = "serial-16550",
    /** Where the scratch register lives (the VMM may keep it in the core: exits-in-core.ts). */
    private readonly scratch: Latch = plainLatch(),
  ) {
    this.name = name;
  }

  /** How many bytes receive() can take now without overrunning. */
  rxRoom(): number {
    return (this.fifoEnabled ? FIFO_DEPTH : 1) - this.fifo.length;
  }

  /** Whether the transmitter waits for the host to take output (its THRE interrupt will come then). */
  get transmitterBusy(): boolean {
    return (this.lsr & LSR_THRE) === 0;
  }

  /** The host has taken output and txRoom() may have grown: a busy transmitter empties if it now can. */
  txRoomGrew(): void {
    if (this.lsr & LSR_THRE || !this.transmitterCanEmpty()) return;
    this.lsr |= LSR_THRE | LSR_TEMT;
    this.thrInterrupt = true;
    this.update();
  }

  /** Bytes arriving on the serial line from the host (ignored in loopback, as the line is cut). */
  receive(bytes: Iterable<number>): void {
    if (this.mcr & MCR_LOOPBACK) return;
    for (const byte of bytes) this.push(byte);
    this.update();
  }

  saveState(): Serial16550State {
    const { divisor, ier, fcr, lcr, mcr, lsr, msr, thrInterrupt, irqLevel } = this;
    return { divisor, ier, fcr, lcr, mcr, lsr, msr, scr: this.scratch.value, thrInterrupt, fifo: [...this.fifo], irqLevel };
  }

  /** Takes the saved registers as they are: the IRQ line's level comes with them, nothing is signalled. */
  restoreState(state: Serial16550State, at = new StatePath(this.name)): void {
    at.integer("divisor", state.divisor, 0, 0xffff);
    at.integer("ier", state.ier, 0, 0x0f);
    at.byte("fcr", state.fcr);
    for (const register of ["lcr", "lsr", "msr", "scr"] as const) at.byte(register, state[register]);
    at.integer("mcr", state.mcr, 0, 0x1f);
    at.bytes("fifo", state.fifo, state.fcr & FCR_ENABLE ? FIFO_DEPTH : 1);
    ({ divisor: this.divisor, ier: this.ier, fcr: this.fcr, lcr: this.lcr, mcr: this.mcr, lsr: this.lsr, msr: this.msr, scr: this.scratch.value } = state);
    ({ thrInterrupt: this.thrInterrupt, irqLevel: this.irqLevel } = state);
    this.fifo.splice(0, this.fifo.length, ...state.fifo);
  }

  read(offset: number, _size: IoSize): number {
    switch (offset) {
      case RBR_THR_DLL:
        return this.lcr & LCR_DLAB ? this.divisor & 0xff : this.readRbr();
      case IER_DLM:
        return this.lcr & LCR_DLAB ? this.divisor >> 8 : this.ier;
      case IIR_FCR:
        return this.readIir();
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR: {
        this.txRoomGrew(); // a polling driver sees room as soon as there is some
        const lsr = this.lsr;
        this.lsr &= ~(LSR_OE | LSR_BI); // error bits clear when read
        this.update();
        return lsr;
      }
      case MSR: {
        const msr = this.msr;
        this.msr &= ~MSR_DELTAS;
        this.update();
        return msr;
      }
      default: // SCR, the scratch register
        return this.scratch.value;
    }
  }

  write(offset: number, _size: IoSize, value: number): void {
    const byte = value & 0xff;
    switch (offset) {
      case RBR_THR_DLL:
        if (this.lcr & LCR_DLAB) this.divisor = (this.divisor & 0xff00) | byte;
        else this.transmit(byte);
        break;
      case IER_DLM:
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0x00ff) | (byte << 8);
        } else {
          // Enabling the THRE interrupt while THR is empty raises it at once.
          if (byte & IER_THRI && !(this.ier & IER_THRI) && this.lsr & LSR_THRE) this.thrInterrupt = true;
          this.ier = byte & 0x0f;
        }
        break;
      case IIR_FCR:
        this.writeFcr(byte);
        break;
      case LCR:
        this.lcr = byte;
        if (byte & LCR_BREAK && this.mcr & MCR_LOOPBACK) this.lsr |= LSR_BI;
        break;
      case MCR:
        this.writeMcr(byte & 0x1f);
        break;
      case SCRATCH_REGISTER:
        this.scratch.value = byte;
        break;
      // LSR and MSR are status registers: writes are for factory testing and are ignored, as in QEMU.
    }
    this.update();
  }

  private get fifoEnabled(): boolean {
    return (this.fcr & FCR_ENABLE) !== 0;
  }

  private push(byte: number): void {
    if (this.rxRoom() > 0) this.fifo.push(byte);
    else this.lsr |= LSR_OE; // the new byte is lost; what was received stays
    this.lsr |= LSR_DR;
  }

  private readRbr(): number {
    const byte = this.fifo.shift() ?? 0;
    if (this.fifo.length === 0) this.lsr &= ~LSR_DR;
    this.update();
    this.onRxRoom();
    return byte;
  }

  private transmit(byte: number): void {
    this.thrInterrupt = false;
    this.update(); // the THRE interrupt drops while THR holds the byte ...
    if (this.mcr & MCR_LOOPBACK) this.push(byte);
    else if (this.txRoom() > 0) this.sink(byte);
    this.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.txRoomGrew(); // ... and comes back once it has gone: at once, unless the host is short of room
  }

  /** Whether what the transmitter can hold (its FIFO, or THR) would go out at once. */
  private transmitterCanEmpty(): boolean {
    return (this.mcr & MCR_LOOPBACK) !== 0 || this.txRoom() >= (this.fifoEnabled ? FIFO_DEPTH : 1);
  }

  private writeFcr(byte: number): void {
    const toggled = (byte ^ this.fcr) & FCR_ENABLE;
    if (toggled || byte & FCR_CLEAR_RX) {
      this.fifo.length = 0;
      this.lsr &= ~LSR_DR;
    }
    this.fcr = byte & 0xc9;
    if (toggled || byte & FCR_CLEAR_RX) this.onRxRoom();
  }

  private writeMcr(mcr: number): void {
    this.mcr = mcr;
    let lines = MSR_TERMINAL;
    if (mcr & MCR_LOOPBACK) {
      // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
      lines = (mcr & 1 ? 0x20 : 0) | (mcr & 2 ? 0x10 : 0) | (mcr & 4 ? MSR_RI : 0) | (mcr & 8 ? 0x80 : 0);
    }
    const changed = (lines ^ this.msr) & 0xf0;
    let deltas = (changed >> 4) & ~MSR_TERI;
    if (this.msr & MSR_RI && !(lines & MSR_RI)) deltas |= MSR_TERI; // trailing edge of RI
    this.msr = lines | (this.msr & MSR_DELTAS) | deltas;
  }

  private readIir(): number {
    const iir = this.pendingInterrupt();
    if (iir === IIR_THRI) {
      this.thrInterrupt = false; // reading IIR that reports THRE acknowledges it
      this.update();
    }
    return iir | (this.fifoEnabled ? IIR_FIFOS_ENABLED : 0);
  }

  /** The highest-priority interrupt condition that is enabled, as IIR bits 0-3. */
  private pendingInterrupt(): number {
    const ier = this.ier;
    if (ier & IER_RLSI && this.lsr & LSR_ERRORS) return IIR_RLSI;
    if (ier & IER_RDI && this.lsr & LSR_DR) {
      if (!this.fifoEnabled || this.fifo.length >= TRIGGER_LEVELS[this.fcr >> 6]) return IIR_RDI;
      return IIR_CTI;
    }
    if (ier & IER_THRI && this.thrInterrupt) return IIR_THRI;
    if (ier & IER_MSI && this.msr & MSR_DELTAS) return IIR_MSI;
    return IIR_NONE;
  }

  private update(): void {
    const level = this.pendingInterrupt() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}
