import { beforeEach, describe, expect, it } from "vitest";
import { DualPic, Pic8259 } from "../../src/devices/pic-8259.js";

const CMD = 0, DATA = 1;

/** The ICW sequence every PC kernel sends: vectors 0x20-0x27 and 0x28-0x2F, cascade on IRQ 2, 8086 mode. */
function initialise(pic: DualPic, icw4 = 0x01): void {
  pic.master.write(CMD, 1, 0x11);
  pic.master.write(DATA, 1, 0x20);
  pic.master.write(DATA, 1, 0x04);
  pic.master.write(DATA, 1, icw4);
  pic.slave.write(CMD, 1, 0x11);
  pic.slave.write(DATA, 1, 0x28);
  pic.slave.write(DATA, 1, 0x02);
  pic.slave.write(DATA, 1, icw4);
  pic.master.write(DATA, 1, 0x00);
  pic.slave.write(DATA, 1, 0x00);
}

describe("Pic8259 pair", () => {
  let pic: DualPic;
  let raised: number;
  beforeEach(() => {
    raised = 0;
    pic = new DualPic(() => raised++);
    initialise(pic);
  });

  it("latches a rising edge, raises INTR and gives the vector at INTA, moving IRR to ISR", () => {
    pic.setIrq(1, true);
    expect(pic.interruptRequested).toBe(true);
    expect(raised).toBe(1);
    expect(pic.master.read(CMD, 1)).toBe(0x02); // IRR by default
    expect(pic.acknowledge()).toBe(0x21);
    expect(pic.interruptRequested).toBe(false);
    pic.master.write(CMD, 1, 0x0b); // OCW3: read ISR
    expect(pic.master.read(CMD, 1)).toBe(0x02);
    pic.master.write(CMD, 1, 0x0a); // OCW3: read IRR
    expect(pic.master.read(CMD, 1)).toBe(0x00);
  });

  it("needs a new edge for a new request: a line held high requests once", () => {
    pic.setIrq(3, true);
    pic.acknowledge();
    pic.master.write(CMD, 1, 0x20);
    pic.setIrq(3, true);
    expect(pic.interruptRequested).toBe(false);
    pic.setIrq(3, false);
    pic.setIrq(3, true);
    expect(pic.interruptRequested).toBe(true);
  });

  it("holds back lower and equal priorities while one is in service, until EOI", () => {
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21);
    pic.setIrq(4, true);
    expect(pic.interruptRequested).toBe(false);
    pic.setIrq(0, true); // higher priority nests
    expect(pic.acknowledge()).toBe(0x20);
    pic.master.write(CMD, 1, 0x20); // non-specific EOI ends IRQ 0, the highest in service
    expect(pic.interruptRequested).toBe(false);
    pic.master.write(CMD, 1, 0x20); // ... then IRQ 1
    expect(pic.interruptRequested).toBe(true);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it("specific EOI clears the named ISR bit only", () => {
    pic.setIrq(5, true);
    pic.acknowledge();
    pic.setIrq(2 + 0, false);
    pic.master.write(CMD, 1, 0x60 | 3); // specific EOI for IRQ 3: not in service
    pic.master.write(CMD, 1, 0x0b);
    expect(pic.master.read(CMD, 1)).toBe(0x20);
    pic.master.write(CMD, 1, 0x60 | 5);
    expect(pic.master.read(CMD, 1)).toBe(0x00);
  });

  it("masks requests with OCW1 and remembers them until unmasked", () => {
    pic.master.write(DATA, 1, 0x01);
    expect(pic.master.read(DATA, 1)).toBe(0x01);
    pic.setIrq(0, true);
    expect(pic.interruptRequested).toBe(false);
    pic.master.write(DATA, 1, 0x00);
    expect(pic.interruptRequested).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it("routes IRQ 8-15 through the cascade on IRQ 2 and wants EOI on both chips", () => {
    pic.setIrq(14, true);
    expect(pic.interruptRequested).toBe(true);
    expect(pic.acknowledge()).toBe(0x2e);
    pic.master.write(CMD, 1, 0x0b);
    pic.slave.write(CMD, 1, 0x0b);
    expect(pic.master.read(CMD, 1)).toBe(0x04);
    expect(pic.slave.read(CMD, 1)).toBe(0x40);
    pic.setIrq(12, true); // higher priority than 14 on the slave, but the master serves IRQ 2
    expect(pic.interruptRequested).toBe(false);
    pic.slave.write(CMD, 1, 0x20);
    pic.master.write(CMD, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x2c);
  });

  it("does not lose a second slave request that is up when the first is acknowledged", () => {
    pic.setIrq(9, true);
    pic.setIrq(8, true);
    expect(pic.acknowledge()).toBe(0x28);
    pic.slave.write(CMD, 1, 0x20);
    pic.master.write(CMD, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it("answers a request that vanished before INTA with the spurious IRQ 7, setting no ISR bit", () => {
    expect(pic.acknowledge()).toBe(0x27);
    pic.master.write(CMD, 1, 0x0b);
    expect(pic.master.read(CMD, 1)).toBe(0);
    // ... and IRQ 15 on the slave when the slave's request went away after the master's INTA.
    pic.setIrq(10, true);
    pic.slave.write(DATA, 1, 0x04); // mask it on the slave: its output drops
    pic.master.setIrq(2, true); // but the master still sees a request on IRQ 2
    expect(pic.acknowledge()).toBe(0x2f);
  });

  it("poll mode reads the highest request as 0x80 | irq and acknowledges it", () => {
    pic.setIrq(6, true);
    pic.master.write(CMD, 1, 0x0c); // OCW3 poll
    expect(pic.master.read(CMD, 1)).toBe(0x86);
    pic.master.write(CMD, 1, 0x0c);
    expect(pic.master.read(CMD, 1)).toBe(0x00);
  });

  it("automatic EOI leaves nothing in service", () => {
    initialise(pic, 0x03);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21);
    pic.setIrq(3, true);
    expect(pic.interruptRequested).toBe(true);
  });

  it("rotates priorities on 'rotate on non-specific EOI' and 'set priority'", () => {
    pic.setIrq(0, true);
    pic.acknowledge();
    pic.master.write(CMD, 1, 0xa0); // rotate on non-specific EOI: IRQ 0 becomes the lowest
    pic.setIrq(7, true);
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x27);
    pic.master.write(CMD, 1, 0x20);
    pic.master.write(CMD, 1, 0xc0 | 4); // set priority: IRQ 4 lowest, IRQ 5 highest
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("special mask mode lets a masked in-service level stop blocking lower ones", () => {
    pic.setIrq(1, true);
    pic.acknowledge();
    pic.master.write(DATA, 1, 0x02);
    pic.master.write(CMD, 1, 0x68); // OCW3: set special mask
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it("ICW1 resets IMR, ISR and the vector base; ICW2 keeps only bits 3-7", () => {
    pic.master.write(DATA, 1, 0xff);
    pic.setIrq(3, false);
    const one = new Pic8259("pic", true);
    one.write(CMD, 1, 0x13); // single, ICW4 needed: no ICW3
    one.write(DATA, 1, 0x47);
    one.write(DATA, 1, 0x01);
    one.write(DATA, 1, 0x5a); // OCW1 now
    expect(one.vectorBase).toBe(0x40);
    expect(one.read(DATA, 1)).toBe(0x5a);
    initialise(pic);
    expect(pic.master.read(DATA, 1)).toBe(0);
  });
});
