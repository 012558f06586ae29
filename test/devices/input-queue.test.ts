import { describe, expect, it } from "vitest";
import { I8042 } from "../../src/devices/i8042.js";
import { keyboardQueue, serialQueue } from "../../src/devices/input-queue.js";
import { keystrokeFor } from "../../src/devices/scancodes.js";
import { Serial16550 } from "../../src/devices/serial-16550.js";

const RBR = 0, FCR = 2, LSR = 5;

/** What a polling guest reads from COM1 until LSR says no more data is ready. */
function drainUart(uart: Serial16550): number[] {
  const bytes: number[] = [];
  while (uart.read(LSR, 1) & 1) bytes.push(uart.read(RBR, 1));
  return bytes;
}

describe("input queues", () => {
  it("feeds COM1 one byte at a time without FIFOs, the next as soon as the guest reads one", () => {
    const uart = new Serial16550(() => {});
    const queue = serialQueue(uart);
    const text = "\x1b[Ahelp\r";
    queue.push(Buffer.from(text));
    expect(queue.pending).toBe(text.length - 1);
    expect(String.fromCharCode(...drainUart(uart))).toBe(text);
    expect(queue.pending).toBe(0);
  });

  it("fills COM1's 16-byte FIFO, and refills it as the guest takes bytes", () => {
    const uart = new Serial16550(() => {});
    uart.write(FCR, 1, 0x01);
    const queue = serialQueue(uart);
    const bytes = Array.from({ length: 200 }, (_, i) => i);
    queue.push(bytes);
    expect(queue.pending).toBe(200 - 16);
    expect(drainUart(uart)).toEqual(bytes);
  });

  it("feeds the keyboard as its buffer empties, losing no key", () => {
    const keyboard = new I8042();
    const queue = keyboardQueue(keyboard);
    const keys = [..."abcdefghijklmnopqrstuvwxyz0123456789"].map((c) => keystrokeFor(c.charCodeAt(0))!);
    queue.push(keys);
    expect(queue.pending).toBeGreaterThan(0);
    const codes: number[] = [];
    while (keyboard.read(4, 1) & 1) codes.push(keyboard.read(0, 1));
    expect(queue.pending).toBe(0);
    expect(codes.filter((code) => code < 0x80)).toEqual(keys.map((stroke) => stroke.key.set1));
  });
});
