// A stand-in for the VirtualMachine that exit handlers see: a VMCS over a plain Int32Array, RAM,
// a bus and an MMU stub (identity mapping unless told otherwise), so each handler can be tested
// from exit information alone, without the core.

import { SR_CS, VMCS_SIZE } from "../../../assembly/vmcs-layout.js";
import { Vmcs } from "../../../src/core/vmcs.js";
import { IoBus } from "../../../src/devices/bus.js";
import type { ExitContext } from "../../../src/vmm/exits/exit-context.js";
import type { StopReason } from "../../../src/vmm/stop-reason.js";

export class FakeContext implements ExitContext {
  readonly vmcs = new Vmcs(new Int32Array(VMCS_SIZE >> 2));
  readonly ram = new Uint8Array(1 << 20);
  readonly bus = new IoBus();
  readonly stops: StopReason[] = [];
  /** Linear addresses at or above this are unmapped. */
  mappedLimit = 1 << 20;
  readonly core = {
    translateLinear: (linear: number, _write: number) => (linear < this.mappedLimit ? linear : -1),
  };

  constructor() {
    this.vmcs.setSegment(SR_CS, { selector: 8, base: 0, limit: 0xffffffff, ar: 0xc09b });
  }

  stop(reason: StopReason): void {
    this.stops.push(reason);
  }

  get stopped(): boolean {
    return this.stops.length > 0;
  }
}
