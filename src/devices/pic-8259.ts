// The PC's interrupt controllers: two Intel 8259A PICs, the master at 0x20/0x21 (IRQ 0-7) and the
// slave at 0xA0/0xA1 (IRQ 8-15) whose output is wired to the master's IRQ 2. Devices drive IRQ
// lines (edge-triggered, as on the ISA bus); the PIC latches rising edges in IRR, and when an
// unmasked request outranks everything in service it raises INTR. The VMM is the CPU side: when
// the guest can take an interrupt it runs the INTA cycle (acknowledge()), which moves the request
// from IRR to ISR and yields the vector that it injects through the VMCS. Semantics follow the
// 8259A data sheet and QEMU's hw/intc/i8259.c: ICW1-ICW4 initialisation, OCW1 (IMR), OCW2
// (specific and non-specific EOI, rotation, set priority), OCW3 (read IRR/ISR, poll, special mask
// mode), automatic EOI, special fully nested mode, and the spurious IRQ 7 / IRQ 15 a request that
// vanished before INTA produces. saveState()/restoreState() carry every register and latch of both
// chips across a saved machine, as plain data.

import type { IoSize, PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";

export const PIC_MASTER_PORT = 0x20;
export const PIC_SLAVE_PORT = 0xa0;
export const PIC_PORT_COUNT = 2;
/** The master input the slave's output is wired to. */
export const CASCADE_IRQ = 2;

const ICW1 = 0x10;
const ICW1_IC4 = 0x01;
const ICW1_SINGLE = 0x02;
const OCW3 = 0x08;
const OCW3_POLL = 0x04;
const OCW3_READ_REGISTER = 0x02;
const OCW3_READ_ISR = 0x01;
const OCW3_SPECIAL_MASK_SET = 0x20;
const OCW3_SPECIAL_MASK = 0x40;
const ICW4_AUTO_EOI = 0x02;
const ICW4_SFNM = 0x10;
const POLL_INTERRUPT = 0x80;
const SPURIOUS = 7;

/** Which initialisation word the chip expects next; `ready` once ICW2-4 are in. */
const enum Init {
  Ready,
  Icw2,
  Icw3,
  Icw4,
}

/** Everything one 8259A holds, as saveState() gives it. */
export interface Pic8259State {
  irr: number;
  isr: number;
  imr: number;
  vectorBase: number;
  lineLevels: number;
  priorityBase: number;
  init: number;
  expectIcw4: boolean;
  single: boolean;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  specialMask: boolean;
  readIsr: boolean;
  poll: boolean;
  output: boolean;
}

export interface DualPicState {
  master: Pic8259State;
  slave: Pic8259State;
  intr: boolean;
}

/** One 8259A. `onOutput` follows its INT pin (to the CPU, or to the master's IRQ 2). */
export class Pic8259 implements PortDevice {
  irr = 0;
  isr = 0;
  imr = 0;
  /** The vector for IRQ 0 of this chip (ICW2, low 3 bits clear). */
  vectorBase = 0;
  private lineLevels = 0;
  /** Rotation: the IRQ that currently has the lowest priority is (priorityBase + 7) & 7. */
  private priorityBase = 0;
  private init = Init.Ready;
  private expectIcw4 = false;
  private single = false;
  private autoEoi = false;
  private rotateOnAutoEoi = false;
  private specialFullyNested = false;
  private specialMask = false;
  private readIsr = false;
  private poll = false;
  private output = false;

  constructor(
    readonly name: string,
    private readonly isMaster: boolean,
    private readonly onOutput: (level: boolean) => void = () => {},
    /** Inputs whose request follows the line's level instead of its rising edge (as ELCR selects). */
    private readonly levelTriggered = 0,
  ) {}

  /** Drives input `irq` (0-7): a rising edge (or a high level, if level-triggered) requests in IRR. */
  setIrq(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level && (!(this.lineLevels & bit) || this.levelTriggered & bit)) this.irr |= bit;
    else if (!level && this.levelTriggered & bit) this.irr &= ~bit;
    this.lineLevels = level ? this.lineLevels | bit : this.lineLevels & ~bit;
    this.update();
  }

  /** The IRQ (0-7) INT is raised for, or -1: the best unmasked request that outranks those in service. */
  highestRequest(): number {
    const request = this.bestOf(this.irr & ~this.imr);
    if (request < 0) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested mode: a request from the slave may interrupt the slave's own service.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << CASCADE_IRQ);
    const serving = this.bestOf(inService);
    return serving < 0 || this.rank(request) < this.rank(serving) ? request : -1;
  }

  /** INTA for `irq` (from highestRequest): IRR to ISR, or straight through with automatic EOI. */
  acknowledge(irq: number): void {
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityBase = (irq + 1) & 7;
    } else {
      this.isr |= 1 << irq;
    }
    if (!(this.levelTriggered & (1 << irq))) this.irr &= ~(1 << irq); // an edge's request is consumed
    this.update();
  }

  saveState(): Pic8259State {
    const { irr, isr, imr, vectorBase, lineLevels, priorityBase, init, expectIcw4, single, autoEoi } = this;
    const { rotateOnAutoEoi, specialFullyNested, specialMask, readIsr, poll, output } = this;
    return { irr, isr, imr, vectorBase, lineLevels, priorityBase, init, expectIcw4, single, autoEoi, rotateOnAutoEoi, specialFullyNested, specialMask, readIsr, poll, output };
  }

  /** Takes the saved registers as they are: the INT pin's level comes with them, nothing is signalled. */
  restoreState(state: Pic8259State, at: StatePath): void {
    for (const register of ["irr", "isr", "imr", "lineLevels"] as const) at.byte(register, state[register]);
    at.byte("vectorBase", state.vectorBase);
    if (state.vectorBase & 7) at.refuse("vectorBase", `is ${state.vectorBase}: ICW2 leaves the low three bits to the IRQ`);
    at.integer("priorityBase", state.priorityBase, 0, 7);
    at.integer("init", state.init, Init.Ready, Init.Icw4);
    ({ irr: this.irr, isr: this.isr, imr: this.imr, vectorBase: this.vectorBase, lineLevels: this.lineLevels, priorityBase: this.priorityBase } = state);
    ({ init: this.init, expectIcw4: this.expectIcw4, single: this.single, autoEoi: this.autoEoi, rotateOnAutoEoi: this.rotateOnAutoEoi } = state);
    ({ specialFullyNested: this.specialFullyNested, specialMask: this.specialMask, readIsr: this.readIsr, poll: this.poll, output: this.output } = state);
  }

  read(offset: number, _size: IoSize): number {
    if (this.poll) {
      this.poll = false;
      return this.pollRead();
    }
    if (offset === 1) return this.imr;
    return this.readIsr ? this.isr : this.irr;
  }

  write(offset: number, _size: IoSize, value: number): void {
    const byte = value & 0xff;
    if (offset === 0) {
      if (byte & ICW1) this.initialise(byte);
      else if (byte & OCW3) this.ocw3(byte);
      else this.ocw2(byte);
    } else {
      this.dataWrite(byte);
    }
    this.update();
  }

  private initialise(icw1: number): void {
    this.irr &= this.levelTriggered & this.lineLevels;
    this.isr = 0;
    this.imr = 0;
    this.priorityBase = 0;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.expectIcw4 = (icw1 & ICW1_IC4) !== 0;
    this.single = (icw1 & ICW1_SINGLE) !== 0;
    this.init = Init.Icw2;
  }

  private dataWrite(byte: number): void {
    switch (this.init) {
      case Init.Ready:
        this.imr = byte; // OCW1
        break;
      case Init.Icw2:
        this.vectorBase = byte & 0xf8;
        this.init = !this.single ? Init.Icw3 : this.expectIcw4 ? Init.Icw4 : Init.Ready;
        break;
      case Init.Icw3: // the cascade wiring; ours is fixed
        this.init = this.expectIcw4 ? Init.Icw4 : Init.Ready;
        break;
      case Init.Icw4:
        this.autoEoi = (byte & ICW4_AUTO_EOI) !== 0;
        this.specialFullyNested = (byte & ICW4_SFNM) !== 0;
        this.init = Init.Ready;
        break;
    }
  }

  private ocw2(byte: number): void {
    const irq = byte & 7;
    switch (byte >> 5) {
      case 0: // rotate in automatic EOI mode: clear
      case 4: // ... set
        this.rotateOnAutoEoi = byte >> 7 !== 0;
        break;
      case 1: // non-specific EOI
      case 5: {
        // ... and rotate
        const served = this.bestOf(this.isr);
        if (served >= 0) {
          this.isr &= ~(1 << served);
          if (byte >> 5 === 5) this.priorityBase = (served + 1) & 7;
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << irq);
        break;
      case 7: // specific EOI and rotate
        this.isr &= ~(1 << irq);
        this.priorityBase = (irq + 1) & 7;
        break;
      case 6: // set priority: `irq` becomes the lowest
        this.priorityBase = (irq + 1) & 7;
        break;
      // case 2: no operation
    }
  }

  private ocw3(byte: number): void {
    if (byte & OCW3_POLL) this.poll = true;
    if (byte & OCW3_READ_REGISTER) this.readIsr = (byte & OCW3_READ_ISR) !== 0;
    if (byte & OCW3_SPECIAL_MASK) this.specialMask = (byte & OCW3_SPECIAL_MASK_SET) !== 0;
  }

  /** Poll command: the CPU reads the request instead of taking an interrupt; that acknowledges it. */
  private pollRead(): number {
    const irq = this.highestRequest();
    if (irq < 0) return 0;
    this.acknowledge(irq);
    return POLL_INTERRUPT | irq;
  }

  /** Priority rank of `irq` under the current rotation: 0 is served first. */
  private rank(irq: number): number {
    return (irq - this.priorityBase) & 7;
  }

  /** The highest-priority IRQ among `bits`, or -1. */
  private bestOf(bits: number): number {
    for (let rank = 0; rank < 8; rank++) {
      const irq = (rank + this.priorityBase) & 7;
      if (bits & (1 << irq)) return irq;
    }
    return -1;
  }

  private update(): void {
    const output = this.highestRequest() >= 0;
    if (output !== this.output) {
      this.output = output;
      this.onOutput(output);
    }
  }
}

/**
 * The master/slave pair as the PC wires it. `onInterrupt` is told whenever INTR may have risen, so
 * the VMM can inject at once or open an interrupt window.
 */
export class DualPic {
  readonly master: Pic8259;
  readonly slave: Pic8259;
  private intr = false;

  constructor(private readonly onInterrupt: () => void = () => {}) {
    // The slave's INT is a level the master samples on IRQ 2, so a second slave request that is
    // still up when the first is acknowledged is not lost for want of a new edge.
    this.master = new Pic8259("pic-8259-master", true, (level) => this.masterOutput(level), 1 << CASCADE_IRQ);
    this.slave = new Pic8259("pic-8259-slave", false, (level) => this.master.setIrq(CASCADE_IRQ, level));
  }

  /** Drives ISA interrupt line `irq` (0-15). */
  setIrq(irq: number, level: boolean): void {
    if (irq >= 8) this.slave.setIrq(irq - 8, level);
    else this.master.setIrq(irq, level);
  }

  /** The wire for one ISA interrupt line, to hand to a device. */
  line(irq: number): (level: boolean) => void {
    return (level) => this.setIrq(irq, level);
  }

  /** INTR: the CPU is being asked to take an interrupt. */
  get interruptRequested(): boolean {
    return this.intr;
  }

  saveState(): DualPicState {
    return { master: this.master.saveState(), slave: this.slave.saveState(), intr: this.intr };
  }

  restoreState(state: DualPicState, at = new StatePath("pic")): void {
    this.master.restoreState(state.master, at.at("master"));
    this.slave.restoreState(state.slave, at.at("slave"));
    this.intr = state.intr;
  }

  /**
   * The INTA cycle: the vector of the highest-priority request, now in service. A request that
   * went away before INTA (or none at all) gives the spurious IRQ 7 of the chip that was asked,
   * which sets no ISR bit, as on real hardware.
   */
  acknowledge(): number {
    const irq = this.master.highestRequest();
    if (irq < 0) return this.master.vectorBase + SPURIOUS;
    this.master.acknowledge(irq);
    if (irq !== CASCADE_IRQ) return this.master.vectorBase + irq;
    const slaveIrq = this.slave.highestRequest();
    if (slaveIrq < 0) return this.slave.vectorBase + SPURIOUS;
    this.slave.acknowledge(slaveIrq);
    return this.slave.vectorBase + slaveIrq;
  }

  private masterOutput(level: boolean): void {
    this.intr = level;
    if (level) this.onInterrupt();
  }
}
