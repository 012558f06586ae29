// The page's exit trace: the last TRACE_LENGTH VM exits, each line as `--trace exits` prints it
// (formatExitTrace, the CLI's code). It subscribes to the VM's exits only while the page's trace
// panel is open, so a closed panel costs nothing: without a subscriber the dispatcher builds no
// exit event at all. Open, it keeps the events in a ring and formats them only when the page is
// sent them, a few times a second, however many exits there were.

import { formatExitTrace, type ExitEvent } from "../../vmm/exit-event.js";
import type { VirtualMachine } from "../../vmm/virtual-machine.js";
import { TRACE_LENGTH } from "../protocol.js";

export class ExitTrace {
  private readonly ring: ExitEvent[] = [];
  /** Where the next event goes once the ring is full. */
  private next = 0;
  private changed = false;
  private vm: VirtualMachine | undefined;
  private unsubscribe: (() => void) | undefined;
  private on = false;

  /** Follows `vm`'s exits from now on (a new boot's machine), starting empty. */
  follow(vm: VirtualMachine): void {
    this.vm = vm;
    this.clear();
    this.subscribe();
  }

  /** The page opened or closed its panel. */
  enable(on: boolean): void {
    this.on = on;
    this.clear();
    this.subscribe();
  }

  /** The kept exits' lines, oldest first; undefined if nothing changed since the last call (or the trace is off). */
  take(): string[] | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)].map(formatExitTrace);
  }

  private subscribe(): void {
    this.unsubscribe?.();
    this.unsubscribe = this.on && this.vm ? this.vm.onExit((exit) => this.record(exit)) : undefined;
  }

  private record(exit: ExitEvent): void {
    if (this.ring.length < TRACE_LENGTH) this.ring.push(exit);
    else {
      this.ring[this.next] = exit;
      this.next = (this.next + 1) % TRACE_LENGTH;
    }
    this.changed = true;
  }

  private clear(): void {
    this.ring.length = 0;
    this.next = 0;
    this.changed = this.on;
  }
}
