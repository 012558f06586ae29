import { beforeEach, describe, expect, it } from "vitest";
import { I8042 } from "../../src/devices/i8042.js";
import { NAMED_KEYS, keystrokeFor } from "../../src/devices/scancodes.js";

const DATA = 0, STATUS = 4;

describe("I8042 with a PS/2 keyboard", () => {
  let kbc: I8042;
  let levels: boolean[];
  beforeEach(() => {
    levels = [];
    kbc = new I8042((level) => levels.push(level));
  });
  const typeText = (text: string) => kbc.type([...text].map((c) => keystrokeFor(c.charCodeAt(0))!));
  /** Every byte the guest can read now, as an interrupt handler would take them. */
  const drain = () => {
    const bytes: number[] = [];
    while (kbc.read(STATUS, 1) & 1) bytes.push(kbc.read(DATA, 1));
    return bytes;
  };

  it("delivers a key as set 1 make and break codes (translated from set 2) with IRQ 1 per byte", () => {
    typeText("a");
    expect(kbc.read(STATUS, 1) & 1).toBe(1);
    expect(levels).toEqual([true]);
    expect(kbc.read(DATA, 1)).toBe(0x1e);
    expect(levels).toEqual([true, false, true]); // the break code follows with a fresh edge
    expect(kbc.read(DATA, 1)).toBe(0x9e);
    expect(levels).toEqual([true, false, true, false]);
    expect(kbc.read(STATUS, 1) & 1).toBe(0);
  });

  it("wraps Shift around capitals and Ctrl around control characters", () => {
    typeText("A");
    expect(drain()).toEqual([0x2a, 0x1e, 0x9e, 0xaa]);
    kbc.type([keystrokeFor(0x03)!]); // Ctrl-C
    expect(drain()).toEqual([0x1d, 0x2e, 0xae, 0x9d]);
  });

  it("sends E0-prefixed codes for cursor keys", () => {
    kbc.type([{ key: NAMED_KEYS.ArrowUp, shift: false, ctrl: false }]);
    expect(drain()).toEqual([0xe0, 0x48, 0xe0, 0xc8]);
  });

  it("sends raw set 2 when translation is off", () => {
    kbc.write(STATUS, 1, 0x60);
    kbc.write(DATA, 1, 0x05); // interrupts and system flag, no translation
    typeText("a\r");
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c, 0x5a, 0xf0, 0x5a]);
  });

  it("answers controller commands: config byte, self-tests, output port", () => {
    kbc.write(STATUS, 1, 0x20);
    expect(kbc.read(STATUS, 1) & 0x09).toBe(0x09); // output full, last write was a command
    expect(kbc.read(DATA, 1)).toBe(0x45);
    kbc.write(STATUS, 1, 0xaa);
    expect(kbc.read(DATA, 1)).toBe(0x55);
    kbc.write(STATUS, 1, 0xab);
    expect(kbc.read(DATA, 1)).toBe(0x00);
    kbc.write(STATUS, 1, 0xd0);
    expect(kbc.read(DATA, 1)).toBe(0x03);
    kbc.write(STATUS, 1, 0xd2); // write the keyboard output buffer
    kbc.write(DATA, 1, 0x42);
    expect(kbc.read(DATA, 1)).toBe(0x42);
  });

  it("holds keys while the keyboard port is disabled and delivers them once enabled", () => {
    kbc.write(STATUS, 1, 0xad);
    typeText("q");
    expect(kbc.read(STATUS, 1) & 1).toBe(0);
    kbc.write(STATUS, 1, 0xae);
    expect(drain()).toEqual([0x10, 0x90]);
  });

  it("raises no interrupt with the config byte's keyboard interrupt bit clear", () => {
    kbc.write(STATUS, 1, 0x60);
    kbc.write(DATA, 1, 0x44);
    typeText("q");
    expect(levels).toEqual([]);
    expect(drain()).toEqual([0x10, 0x90]);
  });

  it("answers keyboard commands with ACK: reset, identify, echo, LEDs, scan code set", () => {
    kbc.write(DATA, 1, 0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    kbc.write(DATA, 1, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x83]);
    kbc.write(DATA, 1, 0xee);
    expect(drain()).toEqual([0xee]);
    kbc.write(DATA, 1, 0xed);
    kbc.write(DATA, 1, 0x07);
    expect(drain()).toEqual([0xfa, 0xfa]);
    kbc.write(DATA, 1, 0xf0);
    kbc.write(DATA, 1, 0x00);
    expect(drain()).toEqual([0xfa, 0xfa, 0x02]);
    kbc.write(DATA, 1, 0x99);
    expect(drain()).toEqual([0xfe]);
  });

  it("speaks set 1 itself after 'select scan code set 1', untranslated", () => {
    kbc.write(STATUS, 1, 0x60);
    kbc.write(DATA, 1, 0x05);
    kbc.write(DATA, 1, 0xf0);
    kbc.write(DATA, 1, 0x01);
    drain();
    typeText("z");
    expect(drain()).toEqual([0x2c, 0xac]);
  });

  it("drops keys while scanning is disabled", () => {
    kbc.write(DATA, 1, 0xf5);
    drain();
    typeText("x");
    expect(drain()).toEqual([]);
  });

  it("bounds its queues as the hardware's buffers are: replies a guest never reads are lost", () => {
    for (let i = 0; i < 1000; i++) kbc.write(DATA, 1, 0xee); // echo: a reply byte each
    for (let i = 0; i < 1000; i++) kbc.write(STATUS, 1, 0x20); // read the configuration byte
    const saved = kbc.saveState();
    expect([saved.keyboardQueue.length, saved.controllerQueue.length]).toEqual([64 + 8, 16]);
    const copy = new I8042();
    copy.restoreState(saved);
    expect(copy.saveState()).toEqual(saved);
  });

  it("reports a reset pulse", () => {
    let resets = 0;
    kbc.onReset = () => resets++;
    kbc.write(STATUS, 1, 0xfe);
    kbc.write(STATUS, 1, 0xd1);
    kbc.write(DATA, 1, 0x02);
    expect(resets).toBe(2);
  });
});
