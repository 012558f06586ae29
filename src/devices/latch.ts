// A register that only holds what was last written to it, like a UART's scratch register. A device
// keeps such a register in a Latch, so that the VMM can place it where the core reads and writes it
// itself (src/vmm/exits-in-core.ts): IN and OUT to its port then complete without a call to the
// device model, which has nothing to do for them anyway.

export interface Latch {
  value: number;
}

/** A latch in the device's own keeping (a device on its own, as the tests build them). */
export function plainLatch(): Latch {
  return { value: 0 };
}
