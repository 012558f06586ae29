// Exit reason 30, I/O instruction (KVM's handle_io): IN and OUT go to the port bus; INS and OUTS
// (with or without REP) are emulated in string-io.ts. The exit qualification says everything about
// the access (SDM Table 28-5): size-1 in bits 0-2, IN in bit 3, string in bit 4, REP in bit 5, port
// in bits 16-31.

import { IOQ_IN, IOQ_REP, IOQ_STRING, X_QUALIFICATION } from "../../../assembly/vmcs-layout.js";
import { Reg, type Vmcs } from "../../core/vmcs.js";
import type { IoSize } from "../../devices/device.js";
import type { ExitContext } from "./exit-context.js";
import { emulateStringIo } from "./string-io.js";

/** Mask of the part of EAX an access of each size uses (AL, AX, EAX). */
const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

export function handleIo(vm: ExitContext): void {
  const qualification = vm.vmcs.get(X_QUALIFICATION);
  if (qualification & IOQ_STRING) {
    emulateStringIo(vm, qualification);
    return;
  }
  const size = ((qualification & 7) + 1) as IoSize;
  const port = qualification >>> 16;
  const eax = vm.vmcs.reg(Reg.EAX);
  if (qualification & IOQ_IN) {
    const mask = SIZE_MASK[size];
    vm.vmcs.setReg(Reg.EAX, (eax & ~mask) | (vm.bus.read(port, size) & mask));
  } else {
    vm.bus.write(port, size, eax & SIZE_MASK[size]);
  }
  vm.vmcs.skipInstruction();
}

export function describeIo(_vmcs: Vmcs, qualification: number): string {
  const input = (qualification & IOQ_IN) !== 0;
  const string = (qualification & IOQ_STRING) !== 0;
  const mnemonic = `${qualification & IOQ_REP ? "REP " : ""}${input ? "IN" : "OUT"}${string ? "S" : ""}`;
  const size = (qualification & 7) + 1;
  return `${mnemonic} port 0x${(qualification >>> 16).toString(16).padStart(4, "0")}, ${size} byte${size > 1 ? "s" : ""}`;
}
