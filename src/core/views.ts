// Typed views over the core's linear memory: the VMCS (an Int32Array, see vmcs.ts) and guest RAM
// (a Uint8Array indexed by guest-physical address). Guest RAM lives in the same memory, so the
// loader and the devices read and write it in place. Growing non-shared WASM memory detaches every view over the
// old buffer, so these are recreated after init() and whenever a run finds them detached.

import { DEVICE_MEMORY_BYTES, VMCS_BASE, VMCS_SIZE } from "../../assembly/vmcs-layout.js";
import type { CoreExports } from "./core.js";
import { Vmcs } from "./vmcs.js";

export class CoreViews {
  readonly vmcs: Vmcs;
  /** Guest-physical memory: index = guest-physical address. */
  ram!: Uint8Array;
  /** Device memory (the std-VGA's video RAM): index = offset from where it is mapped. */
  deviceMemory!: Uint8Array;

  constructor(private readonly core: CoreExports) {
    this.vmcs = new Vmcs(new Int32Array(0));
    this.refresh();
  }

  refresh(): void {
    const buffer = this.core.memory.buffer;
    this.vmcs.i32 = new Int32Array(buffer, VMCS_BASE, VMCS_SIZE >> 2);
    this.ram = new Uint8Array(buffer, this.core.ramBase(), this.core.ramSize());
    this.deviceMemory = new Uint8Array(buffer, this.core.deviceMemoryBase() >>> 0, DEVICE_MEMORY_BYTES); // >>> 0: an offset past 2 GiB comes as a negative i32
  }

  /** Recreates the views if memory grew since they were made (a detached view has length 0). */
  revalidate(): void {
    if (this.vmcs.i32.length === 0) this.refresh();
  }
}
