import { beforeEach, describe, expect, it } from "vitest";
import { Serial16550 } from "../../src/devices/serial-16550.js";

const THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

describe("Serial16550", () => {
  let sent: number[];
  let uart: Serial16550;
  beforeEach(() => {
    sent = [];
    uart = new Serial16550((byte) => sent.push(byte));
  });

  it("transmits bytes written to THR to the sink", () => {
    for (const c of "hi\n") uart.write(THR, 1, c.charCodeAt(0));
    expect(String.fromCharCode(...sent)).toBe("hi\n");
  });

  it("always reports the transmitter empty and no received data", () => {
    expect(uart.read(LSR, 1)).toBe(0x60);
    uart.write(THR, 1, 0x41);
    expect(uart.read(LSR, 1)).toBe(0x60);
  });

  it("puts the divisor latch behind LCR.DLAB, as a guest setting the baud rate expects", () => {
    uart.write(IER, 1, 0x0f);
    uart.write(LCR, 1, 0x80);
    uart.write(THR, 1, 0x03); // DLL
    uart.write(IER, 1, 0x00); // DLM
    expect(uart.read(THR, 1)).toBe(0x03);
    expect(uart.read(IER, 1)).toBe(0x00);
    uart.write(LCR, 1, 0x03);
    expect(uart.read(IER, 1)).toBe(0x0f); // IER kept its value while DLAB was set
    expect(sent).toEqual([]); // a DLL write is not a transmit
  });

  it("stores IER (low 4 bits), LCR, MCR (low 5 bits) and the scratch register", () => {
    uart.write(IER, 1, 0xff);
    uart.write(LCR, 1, 0x1b);
    uart.write(MCR, 1, 0xff);
    uart.write(SCR, 1, 0xa5);
    expect([uart.read(IER, 1), uart.read(LCR, 1), uart.read(MCR, 1), uart.read(SCR, 1)]).toEqual([0x0f, 0x1b, 0x1f, 0xa5]);
  });

  it("reads IIR as no interrupt pending, with the FIFO bits once FCR enables the FIFOs", () => {
    expect(uart.read(IIR, 1)).toBe(0x01);
    uart.write(IIR, 1, 0xc7); // FCR: enable and clear FIFOs
    expect(uart.read(IIR, 1)).toBe(0xc1);
  });

  it("reports carrier, DSR and CTS in MSR and ignores writes to the status registers", () => {
    uart.write(MSR, 1, 0x00);
    uart.write(LSR, 1, 0x00);
    expect(uart.read(MSR, 1)).toBe(0xb0);
    expect(uart.read(LSR, 1)).toBe(0x60);
  });

  it("loops transmitted bytes back to the receiver in loopback mode, as drivers probe for a UART", () => {
    uart.write(MCR, 1, 0x10 | 0x0a); // loopback, RTS, OUT2
    uart.write(THR, 1, 0xae);
    expect(sent).toEqual([]);
    expect(uart.read(LSR, 1) & 1).toBe(1);
    expect(uart.read(THR, 1)).toBe(0xae);
    expect(uart.read(LSR, 1) & 1).toBe(0);
    expect(uart.read(MSR, 1)).toBe(0x80 | 0x10 | 0x02); // OUT2 -> DCD, RTS -> CTS; DSR dropped (delta)
  });

  it("discards looped-back bytes when FCR clears the receive FIFO", () => {
    uart.write(MCR, 1, 0x10);
    uart.write(THR, 1, 1);
    uart.write(IIR, 1, 0x03);
    expect(uart.read(LSR, 1) & 1).toBe(0);
  });

  describe("interrupts and receiving", () => {
    let levels: boolean[];
    beforeEach(() => {
      levels = [];
      uart = new Serial16550((byte) => sent.push(byte), (level) => levels.push(level));
    });
    const line = () => levels[levels.length - 1] ?? false;

    it("raises the THRE interrupt when enabled with THR empty, clears it on reading IIR, and again per byte", () => {
      uart.write(MCR, 1, 0x08); // OUT2 gates the interrupt to the PIC
      uart.write(IER, 1, 0x02);
      expect(line()).toBe(true);
      expect(uart.read(IIR, 1)).toBe(0x02);
      expect(line()).toBe(false);
      expect(uart.read(IIR, 1)).toBe(0x01);
      uart.write(THR, 1, 0x41);
      expect(levels.slice(-2)).toEqual([false, true]); // a fresh edge for the next byte
    });

    it("keeps the interrupt from the PIC while MCR.OUT2 is clear", () => {
      uart.write(IER, 1, 0x02);
      expect(line()).toBe(false);
      expect(uart.read(IIR, 1)).toBe(0x02); // still pending in the UART
    });

    it("receives bytes into RBR, reports data ready and raises the received-data interrupt", () => {
      uart.write(MCR, 1, 0x08);
      uart.write(IER, 1, 0x01);
      expect(uart.rxRoom()).toBe(1);
      uart.receive([0x61]);
      expect(uart.rxRoom()).toBe(0);
      expect(line()).toBe(true);
      expect(uart.read(IIR, 1)).toBe(0x04);
      expect(uart.read(LSR, 1) & 1).toBe(1);
      expect(uart.read(THR, 1)).toBe(0x61);
      expect(line()).toBe(false);
      expect(uart.read(LSR, 1) & 1).toBe(0);
    });

    it("buffers 16 bytes with the FIFO on, interrupts at the trigger level or with a timeout below it", () => {
      uart.write(MCR, 1, 0x08);
      uart.write(IER, 1, 0x01);
      uart.write(IIR, 1, 0x81); // FIFO on, trigger level 8
      expect(uart.rxRoom()).toBe(16);
      uart.receive([1, 2, 3]);
      expect(uart.read(IIR, 1)).toBe(0xcc); // character timeout
      uart.receive([4, 5, 6, 7, 8]);
      expect(uart.read(IIR, 1)).toBe(0xc4); // trigger level reached
      const got: number[] = [];
      while (uart.read(LSR, 1) & 1) got.push(uart.read(THR, 1));
      expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(uart.read(IIR, 1)).toBe(0xc1);
    });

    describe("when the host is short of room for output (txRoom)", () => {
      let room: number;
      beforeEach(() => {
        room = 0;
        // The host's buffer: each byte it takes uses up room.
        uart = new Serial16550((byte) => (sent.push(byte), room--), (level) => levels.push(level));
        uart.txRoom = () => room;
        uart.write(MCR, 1, 0x08);
      });
      const send = (byte: number) => uart.write(THR, 1, byte);

      it("keeps the transmitter busy (LSR.THRE and TEMT clear) until there is room, so a polling driver waits", () => {
        room = 1;
        send(0x41);
        expect(sent).toEqual([0x41]);
        expect(uart.read(LSR, 1) & 0x60).toBe(0); // the host took the byte but can take no more
        expect(uart.read(LSR, 1) & 0x60).toBe(0);
        room = 1;
        expect(uart.read(LSR, 1) & 0x60).toBe(0x60); // reading LSR finds the room
      });

      it("loses a byte written while there is no room at all, as one written over a full THR", () => {
        send(0x41);
        expect(sent).toEqual([]);
        expect(uart.read(LSR, 1) & 0x60).toBe(0);
      });

      it("with the FIFO on, is empty only while a whole FIFO's worth (16 bytes) fits", () => {
        uart.write(IIR, 1, 0x01);
        room = 15;
        expect(uart.read(LSR, 1) & 0x60).toBe(0x60); // it was empty before the host filled up
        send(1);
        expect(uart.read(LSR, 1) & 0x60).toBe(0);
        for (let i = 2; i <= 15; i++) send(i); // the FIFO takes what it has room for
        expect(sent).toHaveLength(15);
        room = 16;
        expect(uart.read(LSR, 1) & 0x60).toBe(0x60);
      });

      it("raises the THRE interrupt only when the host has made room and says so (txRoomGrew)", () => {
        room = 1;
        uart.write(IER, 1, 0x02);
        expect(uart.read(IIR, 1)).toBe(0x02); // empty when enabled: at once
        send(0x41);
        expect(line()).toBe(false);
        expect(uart.read(IIR, 1)).toBe(0x01);
        uart.txRoomGrew(); // nothing taken yet
        expect(line()).toBe(false);
        room = 100;
        uart.txRoomGrew();
        expect(line()).toBe(true);
        expect(uart.read(IIR, 1)).toBe(0x02);
      });

      it("does not raise THRE on enabling the interrupt while the transmitter is busy", () => {
        room = 1;
        send(0x41);
        uart.write(IER, 1, 0x02);
        expect(uart.read(IIR, 1)).toBe(0x01);
      });

      it("keeps a busy transmitter across a saved machine, and empties it once the new host has room", () => {
        room = 1;
        send(0x41);
        const restored = new Serial16550(() => {});
        restored.restoreState(uart.saveState());
        restored.txRoom = () => 0;
        expect(restored.read(LSR, 1) & 0x60).toBe(0);
        restored.txRoom = () => 64;
        expect(restored.read(LSR, 1) & 0x60).toBe(0x60);
      });

      it("loops bytes back in loopback whatever the host's room: the line to the host is cut", () => {
        uart.write(MCR, 1, 0x10);
        uart.write(THR, 1, 0x41);
        expect(uart.read(LSR, 1) & 0x61).toBe(0x61);
        expect(uart.read(THR, 1)).toBe(0x41);
      });
    });

    it("tells the host when the guest has made room", () => {
      let calls = 0;
      uart.onRxRoom = () => calls++;
      uart.receive([9]);
      uart.read(THR, 1);
      expect(calls).toBe(1);
    });

    it("sets overrun when a byte arrives with no room, and reports it as a line status interrupt", () => {
      uart.write(MCR, 1, 0x08 | 0x10); // loopback
      uart.write(IER, 1, 0x04);
      uart.write(THR, 1, 1);
      uart.write(THR, 1, 2);
      expect(uart.read(IIR, 1)).toBe(0x06);
      expect(uart.read(LSR, 1) & 0x02).toBe(0x02);
      expect(uart.read(LSR, 1) & 0x02).toBe(0);
      expect(uart.read(THR, 1)).toBe(1);
    });

    it("reports modem status deltas in loopback and raises the modem status interrupt", () => {
      uart.write(IER, 1, 0x08);
      uart.write(MCR, 1, 0x10 | 0x08);
      expect(uart.read(IIR, 1)).toBe(0x00);
      expect(uart.read(MSR, 1)).toBe(0x80 | 0x03); // DCD from OUT2; DSR and CTS dropped
      expect(uart.read(MSR, 1)).toBe(0x80);
      expect(uart.read(IIR, 1)).toBe(0x01);
    });
  });
});
