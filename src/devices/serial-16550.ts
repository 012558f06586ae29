// A 16550A UART, the PC's COM port (COM1 at 0x3F8): the guest's console. Transmitted bytes go to
// a sink callback (the CLI writes them to stdout as they come). The transmitter is infinitely fast,
// so the line status always reports THR empty and transmitter empty, and a guest that polls LSR
// before each byte never waits. Register semantics follow the PC16550D data sheet and QEMU's
// hw/char/serial.c: the divisor latch behind LCR.DLAB, the scratch register, loopback mode (MCR bit
// 4: transmitted bytes come back as received bytes and MSR mirrors MCR). Receiving from the host
// and interrupts (IER/IIR raising IRQ 4 through the PIC) come with the PIC in a later issue; until
// then IIR always reads "no interrupt pending".

import type { IoSize, PortDevice } from "./device.js";

export const COM1_PORT = 0x3f8;
export const SERIAL_PORT_COUNT = 8;

// Register offsets from the base port.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const LCR_DLAB = 0x80;
const MCR_LOOPBACK = 0x10;
const FCR_FIFO_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const IIR_NO_INTERRUPT = 0x01;
const IIR_FIFOS_ENABLED = 0xc0;
const LSR_DATA_READY = 0x01;
const LSR_THR_EMPTY = 0x20;
const LSR_TRANSMITTER_EMPTY = 0x40;
// Modem status lines a terminal would assert (carrier detect, data set ready, clear to send).
const MSR_DCD = 0x80;
const MSR_RI = 0x40;
const MSR_DSR = 0x20;
const MSR_CTS = 0x10;
const FIFO_DEPTH = 16;

export type SerialSink = (byte: number) => void;

export class Serial16550 implements PortDevice {
  readonly name = "serial-16550";
  private divisor = 12; // 9600 baud from the 1.8432 MHz clock, as after a BIOS sets the port up
  private ier = 0;
  private fcr = 0;
  private lcr = 0x03; // 8 data bits, no parity, 1 stop bit
  private mcr = 0;
  private scr = 0;
  private readonly received: number[] = [];

  constructor(private readonly sink: SerialSink) {}

  read(offset: number, _size: IoSize): number {
    switch (offset) {
      case RBR_THR_DLL:
        if (this.lcr & LCR_DLAB) return this.divisor & 0xff;
        return this.received.shift() ?? 0;
      case IER_DLM:
        return this.lcr & LCR_DLAB ? this.divisor >> 8 : this.ier;
      case IIR_FCR:
        return IIR_NO_INTERRUPT | (this.fcr & FCR_FIFO_ENABLE ? IIR_FIFOS_ENABLED : 0);
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR:
        return LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | (this.received.length > 0 ? LSR_DATA_READY : 0);
      case MSR:
        return this.modemStatus();
      default: // SCR, the scratch register
        return this.scr;
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
        if (this.lcr & LCR_DLAB) this.divisor = (this.divisor & 0x00ff) | (byte << 8);
        else this.ier = byte & 0x0f;
        break;
      case IIR_FCR:
        this.fcr = byte;
        if (byte & FCR_CLEAR_RX) this.received.length = 0;
        break;
      case LCR:
        this.lcr = byte;
        break;
      case MCR:
        this.mcr = byte & 0x1f;
        break;
      case SCR:
        this.scr = byte;
        break;
      // LSR and MSR are status registers: writes are for factory testing and are ignored, as in QEMU.
    }
  }

  private transmit(byte: number): void {
    if (this.mcr & MCR_LOOPBACK) {
      if (this.received.length < FIFO_DEPTH) this.received.push(byte);
    } else {
      this.sink(byte);
    }
  }

  private modemStatus(): number {
    if (!(this.mcr & MCR_LOOPBACK)) return MSR_DCD | MSR_DSR | MSR_CTS;
    // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
    const m = this.mcr;
    return (m & 1 ? MSR_DSR : 0) | (m & 2 ? MSR_CTS : 0) | (m & 4 ? MSR_RI : 0) | (m & 8 ? MSR_DCD : 0);
  }
}
