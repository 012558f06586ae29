// The PC's keyboard controller, an Intel 8042 at 0x60 (data) and 0x64 (status and command), with a
// PS/2 keyboard on its first port raising IRQ 1. No mouse is attached to the second port. The
// keyboard speaks scan code set 2, and the controller translates it to set 1 while bit 6 of its
// configuration byte is set, as on every PC; the keyboard's own commands (reset, enable/disable
// scanning, LEDs, echo, identify, typematic rate, select scan code set 1 or 2) answer as real
// keyboards do, with ACK (FA). Controller commands: read/write the configuration byte (20/60),
// self-tests (AA -> 55, AB/A9 -> 00), disable/enable each port (AD/AE, A7/A8), read/write the
// output port (D0/D1), write the keyboard's or the mouse's output buffer (D2/D3), and pulse reset
// (FE, or output-port bit 0 cleared), reported through onReset. Keys come from the host through
// type(): a terminal's bytes or named keys become make and break codes, queued on the keyboard and
// handed to the guest one byte at a time, each with an interrupt when it reaches the output buffer.
// saveState()/restoreState() carry the controller, its queues and the keyboard's modes across a
// saved machine. Both queues are bounded, as the hardware's buffers are, and a restore refuses
// longer ones (saved-values.ts).

import { UNCONNECTED, type IoSize, type IrqLine, type PortDevice } from "./device.js";
import { StatePath } from "./saved-values.js";
import { LEFT_CTRL, LEFT_SHIFT, SET2_TO_SET1, type Key, type Keystroke } from "./scancodes.js";

export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
export const KEYBOARD_IRQ = 1;

const STATUS_OBF = 0x01;
const STATUS_SYSTEM = 0x04;
const STATUS_COMMAND = 0x08;
const STATUS_UNLOCKED = 0x10;
const STATUS_AUX_OBF = 0x20;
const CONFIG_KBD_INT = 0x01;
const CONFIG_SYSTEM = 0x04;
const CONFIG_KBD_DISABLED = 0x10;
const CONFIG_TRANSLATE = 0x40;
const OUTPUT_PORT_RESET = 0x01;

const ACK = 0xfa;
const BREAK = 0xf0;
const EXTENDED = 0xe0;
/** How many scan code bytes the keyboard buffers before it drops keys, as a real one would. */
const KEYBOARD_BUFFER = 64;
/** Room kept beyond the keys for command replies (at most 3 bytes each); replies that do not fit are lost. */
const REPLY_ROOM = 8;
/**
 * Controller responses waiting for the output buffer. A real 8042 has the one output byte; this
 * queue only keeps their order, and a guest that sends commands without reading loses the rest.
 */
const CONTROLLER_QUEUE = 16;
/** Controller commands that wait for a data byte, and keyboard commands that wait for a parameter. */
const CONTROLLER_DATA_COMMANDS = [0x60, 0xd1, 0xd2, 0xd3, 0xd4];
const KEYBOARD_PARAMETER_COMMANDS = [0xed, 0xf0, 0xf3];

export interface I8042State {
  config: number;
  outputPort: number;
  output: { byte: number; aux: boolean } | null;
  lastWasCommand: boolean;
  controllerCommand: number | null;
  controllerQueue: { byte: number; aux: boolean }[];
  keyboardQueue: number[];
  keyboardCommand: number | null;
  scanning: boolean;
  scanSet: number;
  breakPending: boolean;
  irqLevel: boolean;
}

export class I8042 implements PortDevice {
  readonly name = "i8042";
  /** Called when the guest resets the machine through the controller. */
  onReset: () => void = () => {};
  /** Called when the guest has taken a byte, so the keyboard's buffer has room again. */
  onRoom: () => void = () => {};
  private config = CONFIG_KBD_INT | CONFIG_SYSTEM | CONFIG_TRANSLATE;
  private outputPort = 0x03; // A20 enabled, not in reset
  private output: { byte: number; aux: boolean } | undefined;
  private lastWasCommand = false;
  /** Controller command waiting for its data byte on port 0x60. */
  private controllerCommand: number | undefined;
  /** Bytes the controller itself has to send (command responses), before the keyboard's. */
  private readonly controllerQueue: { byte: number; aux: boolean }[] = [];
  private readonly keyboardQueue: number[] = [];
  /** Keyboard command waiting for its parameter byte. */
  private keyboardCommand: number | undefined;
  private scanning = true;
  private scanSet = 2;
  private breakPending = false;
  private irqLevel = false;

  constructor(private readonly irq: IrqLine = UNCONNECTED) {}

  /** Presses and releases the key for each keystroke (see scancodes.ts). */
  type(keystrokes: Iterable<Keystroke>): void {
    for (const { key, shift, ctrl } of keystrokes) {
      const held = [...(ctrl ? [LEFT_CTRL] : []), ...(shift ? [LEFT_SHIFT] : [])];
      for (const modifier of held) this.sendKey(modifier, false);
      this.sendKey(key, false);
      this.sendKey(key, true);
      for (const modifier of held.reverse()) this.sendKey(modifier, true);
    }
    this.fill();
  }

  /** Whether the keyboard can buffer another keystroke (with modifiers, up to 12 bytes). */
  hasRoom(): boolean {
    return this.keyboardQueue.length + 12 <= KEYBOARD_BUFFER;
  }

  saveState(): I8042State {
    const { config, outputPort, lastWasCommand, scanning, scanSet, breakPending, irqLevel } = this;
    return {
      config,
      outputPort,
      output: this.output === undefined ? null : { ...this.output },
      lastWasCommand,
      controllerCommand: this.controllerCommand ?? null,
      controllerQueue: this.controllerQueue.map((entry) => ({ ...entry })),
      keyboardQueue: [...this.keyboardQueue],
      keyboardCommand: this.keyboardCommand ?? null,
      scanning,
      scanSet,
      breakPending,
      irqLevel,
    };
  }

  /** Takes the saved state as it is: the IRQ line's level comes with it, nothing is signalled. */
  restoreState(state: I8042State, at = new StatePath(this.name)): void {
    at.byte("config", state.config);
    at.byte("outputPort", state.outputPort);
    const checkOutput = (where: StatePath, output: { byte: number; aux: boolean }) => {
      where.byte("byte", output.byte);
      where.flag("aux", output.aux);
    };
    if (state.output !== null) checkOutput(at.at("output"), state.output);
    if (state.controllerCommand !== null && !CONTROLLER_DATA_COMMANDS.includes(state.controllerCommand)) {
      at.refuse("controllerCommand", `is ${JSON.stringify(state.controllerCommand)}, not a command that waits for data`);
    }
    at.list("controllerQueue", state.controllerQueue, CONTROLLER_QUEUE, (where, entry, i) => checkOutput(where.at(i), entry));
    at.bytes("keyboardQueue", state.keyboardQueue, KEYBOARD_BUFFER + REPLY_ROOM);
    if (state.keyboardCommand !== null && !KEYBOARD_PARAMETER_COMMANDS.includes(state.keyboardCommand)) {
      at.refuse("keyboardCommand", `is ${JSON.stringify(state.keyboardCommand)}, not a command that waits for a parameter`);
    }
    at.integer("scanSet", state.scanSet, 1, 2);
    ({ config: this.config, outputPort: this.outputPort, lastWasCommand: this.lastWasCommand, scanning: this.scanning, scanSet: this.scanSet } = state);
    ({ breakPending: this.breakPending, irqLevel: this.irqLevel } = state);
    this.output = state.output === null ? undefined : { ...state.output };
    this.controllerCommand = state.controllerCommand ?? undefined;
    this.keyboardCommand = state.keyboardCommand ?? undefined;
    this.controllerQueue.splice(0, this.controllerQueue.length, ...state.controllerQueue.map((entry) => ({ ...entry })));
    this.keyboardQueue.splice(0, this.keyboardQueue.length, ...state.keyboardQueue);
  }

  read(offset: number, _size: IoSize): number {
    if (offset === 4) return this.status();
    const byte = this.output?.byte ?? 0;
    this.output = undefined;
    this.updateIrq(); // the line drops, so the next byte's interrupt is a fresh edge
    this.fill();
    this.onRoom();
    return byte;
  }

  write(offset: number, _size: IoSize, value: number): void {
    const byte = value & 0xff;
    this.lastWasCommand = offset === 4;
    if (offset === 4) this.command(byte);
    else if (this.controllerCommand !== undefined) this.commandData(this.controllerCommand, byte);
    else this.keyboardWrite(byte);
    this.fill();
  }

  private status(): number {
    let status = STATUS_UNLOCKED | (this.config & CONFIG_SYSTEM ? STATUS_SYSTEM : 0) | (this.lastWasCommand ? STATUS_COMMAND : 0);
    if (this.output) status |= STATUS_OBF | (this.output.aux ? STATUS_AUX_OBF : 0);
    return status;
  }

  private respond(byte: number, aux = false): void {
    if (this.controllerQueue.length < CONTROLLER_QUEUE) this.controllerQueue.push({ byte, aux });
  }

  private command(byte: number): void {
    this.controllerCommand = undefined;
    switch (byte) {
      case 0x20:
        return this.respond(this.config);
      case 0xaa: // controller self-test
        this.config |= CONFIG_SYSTEM;
        return this.respond(0x55);
      case 0xa9: // test the mouse port
      case 0xab: // test the keyboard port
        return this.respond(0x00);
      case 0xad:
        this.config |= CONFIG_KBD_DISABLED;
        return;
      case 0xae:
        this.config &= ~CONFIG_KBD_DISABLED;
        return;
      case 0xa7: // disable / enable the (absent) mouse port
      case 0xa8:
        return;
      case 0xd0:
        return this.respond(this.outputPort);
      case 0xfe:
        return this.onReset();
      case 0x60:
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4: // CONTROLLER_DATA_COMMANDS
        this.controllerCommand = byte;
        return;
      // Anything else (e.g. the F0-FF pulse commands other than FE) is ignored.
    }
  }

  private commandData(command: number, byte: number): void {
    this.controllerCommand = undefined;
    if (command === 0x60) this.config = byte;
    else if (command === 0xd1) {
      this.outputPort = byte;
      if (!(byte & OUTPUT_PORT_RESET)) this.onReset();
    } else if (command === 0xd2) this.respond(byte);
    else if (command === 0xd3) this.respond(byte, true);
    // 0xD4 (write to the mouse): no mouse answers.
  }

  /** A byte for the keyboard itself: a command, or the parameter of the last one. */
  private keyboardWrite(byte: number): void {
    this.config &= ~CONFIG_KBD_DISABLED; // writing to the keyboard enables its port
    const pending = this.keyboardCommand;
    this.keyboardCommand = undefined;
    if (pending === 0xf0) {
      if (byte === 0) return this.reply(ACK, this.scanSet);
      this.scanSet = byte === 1 ? 1 : 2; // set 3 is not offered
      return this.reply(ACK);
    }
    if (pending === 0xed || pending === 0xf3) return this.reply(ACK); // LEDs, typematic rate
    switch (byte) {
      case 0xff: // reset and self-test
        this.keyboardQueue.length = 0;
        this.scanning = true;
        this.scanSet = 2;
        return this.reply(ACK, 0xaa);
      case 0xf6: // set defaults
        this.scanSet = 2;
        return this.reply(ACK);
      case 0xf5: // disable scanning
        this.scanning = false;
        this.keyboardQueue.length = 0;
        return this.reply(ACK);
      case 0xf4:
        this.scanning = true;
        return this.reply(ACK);
      case 0xf2: // identify: an MF2 keyboard
        return this.reply(ACK, 0xab, 0x83);
      case 0xee: // echo
        return this.reply(0xee);
      case 0xed:
      case 0xf0:
      case 0xf3: // KEYBOARD_PARAMETER_COMMANDS
        this.keyboardCommand = byte;
        return this.reply(ACK);
      default:
        return this.reply(0xfe); // resend: not a command this keyboard knows
    }
  }

  /** Keyboard responses go ahead of queued keys. */
  private reply(...bytes: number[]): void {
    if (this.keyboardQueue.length + bytes.length <= KEYBOARD_BUFFER + REPLY_ROOM) this.keyboardQueue.unshift(...bytes);
  }

  private sendKey(key: Key, release: boolean): void {
    if (!this.scanning) return;
    const bytes: number[] = key.extended ? [EXTENDED] : [];
    if (this.scanSet === 1) bytes.push(release ? key.set1 | 0x80 : key.set1);
    else bytes.push(...(release ? [BREAK, key.set2] : [key.set2]));
    if (this.keyboardQueue.length + bytes.length <= KEYBOARD_BUFFER) this.keyboardQueue.push(...bytes);
  }

  /** Moves the next byte into the empty output buffer, translating keyboard bytes if asked to. */
  private fill(): void {
    while (!this.output) {
      const fromController = this.controllerQueue.shift();
      if (fromController) {
        this.output = fromController;
        break;
      }
      if (this.config & CONFIG_KBD_DISABLED || this.keyboardQueue.length === 0) break;
      const byte = this.keyboardQueue.shift()!;
      const translated = this.translate(byte);
      if (translated !== undefined) this.output = { byte: translated, aux: false };
    }
    this.updateIrq();
  }

  /** The 8042's set 2 -> set 1 translation: F0 is swallowed and sets bit 7 of the next code. */
  private translate(byte: number): number | undefined {
    if (!(this.config & CONFIG_TRANSLATE) || this.scanSet !== 2) return byte;
    if (byte === BREAK) {
      this.breakPending = true;
      return undefined;
    }
    const code = byte < 0x80 ? (SET2_TO_SET1.get(byte) ?? byte) : byte;
    const result = this.breakPending ? code | 0x80 : code;
    this.breakPending = false;
    return result;
  }

  private updateIrq(): void {
    const level = this.output !== undefined && !this.output.aux && (this.config & CONFIG_KBD_INT) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}
