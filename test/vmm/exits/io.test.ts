import { beforeEach, describe, expect, it } from "vitest";
import {
  G_EFLAGS,
  G_EIP,
  IOQ_IN,
  IOQ_REP,
  IOQ_STRING,
  X_GUEST_LINEAR,
  X_INSTRUCTION_INFO,
  X_INSTRUCTION_LENGTH,
  X_QUALIFICATION,
  E_INTR_INFO,
  E_INTR_ERROR,
  G_CR2,
} from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import type { IoSize, PortDevice } from "../../../src/devices/device.js";
import { handleIo } from "../../../src/vmm/exits/io.js";
import { MAX_ELEMENTS_PER_EXIT } from "../../../src/vmm/exits/string-io.js";
import { FakeContext } from "./fake-context.js";

/** A device that records writes and reads back a counter. */
class Port implements PortDevice {
  readonly name = "port";
  readonly written: number[] = [];
  next = 0x10;
  read(_offset: number, _size: IoSize): number {
    return this.next++;
  }
  write(_offset: number, _size: IoSize, value: number): void {
    this.written.push(value);
  }
}

const ADDR32 = 1 << 7;

describe("handleIo", () => {
  let vm: FakeContext;
  let port: Port;
  beforeEach(() => {
    vm = new FakeContext();
    port = new Port();
    vm.bus.register(0x3f8, 8, port);
    vm.vmcs.set(G_EIP, 0x1000);
    vm.vmcs.set(G_EFLAGS, 2);
  });

  const exit = (qualification: number, length: number) => {
    vm.vmcs.set(X_QUALIFICATION, qualification);
    vm.vmcs.set(X_INSTRUCTION_LENGTH, length);
    handleIo(vm);
  };

  it("OUT writes AL/AX/EAX to the port and moves EIP past the instruction", () => {
    vm.vmcs.setReg(Reg.EAX, 0x11223344);
    exit((0x3f8 << 16) | 0, 1);
    exit((0x3f8 << 16) | 1, 2);
    exit((0x3f8 << 16) | 3, 1);
    expect(port.written).toEqual([0x44, 0x3344, 0x11223344]);
    expect(vm.vmcs.get(G_EIP)).toBe(0x1004);
  });

  it("IN replaces only AL or AX", () => {
    vm.vmcs.setReg(Reg.EAX, 0xaabbccdd);
    exit((0x3fd << 16) | IOQ_IN, 1);
    expect(vm.vmcs.reg(Reg.EAX)).toBe(0xaabbcc10);
    exit((0x3fd << 16) | IOQ_IN | 1, 1);
    expect(vm.vmcs.reg(Reg.EAX)).toBe(0xaabb0011);
  });

  it("IN from a port nobody decodes reads all ones", () => {
    vm.vmcs.setReg(Reg.EAX, 0);
    exit((0x80 << 16) | IOQ_IN | 3, 1);
    expect(vm.vmcs.reg(Reg.EAX)).toBe(0xffffffff);
  });

  describe("string I/O", () => {
    const outs = (rep: boolean) => (0x3f8 << 16) | IOQ_STRING | (rep ? IOQ_REP : 0);

    it("REP OUTSB sends ECX bytes from DS:ESI forward, leaving ESI past them and ECX zero", () => {
      vm.ram.set([104, 105, 33], 0x5000);
      vm.vmcs.setReg(Reg.ESI, 0x5000);
      vm.vmcs.setReg(Reg.ECX, 3);
      vm.vmcs.set(X_GUEST_LINEAR, 0x5000);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(true), 2);
      expect(port.written).toEqual([104, 105, 33]);
      expect(vm.vmcs.reg(Reg.ESI)).toBe(0x5003);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(0);
      expect(vm.vmcs.get(G_EIP)).toBe(0x1002);
      expect(vm.hostWork).toBe(3); // one unit of host work per element (host-work.ts)
    });

    it("uses the segment base the exit's linear address implies", () => {
      vm.ram.set([7, 8], 0x8010);
      vm.vmcs.setReg(Reg.ESI, 0x10);
      vm.vmcs.setReg(Reg.ECX, 2);
      vm.vmcs.set(X_GUEST_LINEAR, 0x8010); // segment base 0x8000
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(true), 2);
      expect(port.written).toEqual([7, 8]);
    });

    it("steps backwards when EFLAGS.DF is set", () => {
      vm.ram.set([1, 2, 3], 0x5000);
      vm.vmcs.set(G_EFLAGS, 0x402);
      vm.vmcs.setReg(Reg.ESI, 0x5002);
      vm.vmcs.setReg(Reg.ECX, 3);
      vm.vmcs.set(X_GUEST_LINEAR, 0x5002);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(true), 2);
      expect(port.written).toEqual([3, 2, 1]);
      expect(vm.vmcs.reg(Reg.ESI)).toBe(0x4fff);
    });

    it("OUTSB without REP moves one byte and leaves ECX alone", () => {
      vm.ram[0x5000] = 9;
      vm.vmcs.setReg(Reg.ESI, 0x5000);
      vm.vmcs.setReg(Reg.ECX, 5);
      vm.vmcs.set(X_GUEST_LINEAR, 0x5000);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(false), 1);
      expect(port.written).toEqual([9]);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(5);
      expect(vm.vmcs.reg(Reg.ESI)).toBe(0x5001);
    });

    it("REP INSW stores words at ES:EDI", () => {
      vm.vmcs.setReg(Reg.EDI, 0x6000);
      vm.vmcs.setReg(Reg.ECX, 2);
      vm.vmcs.set(X_GUEST_LINEAR, 0x6000);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit((0x3f8 << 16) | IOQ_STRING | IOQ_REP | IOQ_IN | 1, 3);
      expect([...vm.ram.subarray(0x6000, 0x6004)]).toEqual([0x10, 0, 0x11, 0]);
      expect(vm.vmcs.reg(Reg.EDI)).toBe(0x6004);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(0);
    });

    it("with a 16-bit address size, counts with CX and wraps SI at 64 KiB, keeping the upper halves", () => {
      vm.ram.set([5, 6], 0xffff);
      vm.ram[0] = 7;
      vm.vmcs.setReg(Reg.ESI, 0x1234ffff);
      vm.vmcs.setReg(Reg.ECX, 0xabcd0002);
      vm.vmcs.set(X_GUEST_LINEAR, 0xffff);
      vm.vmcs.set(X_INSTRUCTION_INFO, 0);
      exit(outs(true), 3);
      expect(port.written).toEqual([5, 7]);
      expect(vm.vmcs.reg(Reg.ESI)).toBe(0x12340001);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(0xabcd0000);
    });

    it("injects #PF at the first unmapped element, keeping the registers of the elements done", () => {
      vm.mappedLimit = 0x5002;
      vm.vmcs.setReg(Reg.ESI, 0x5000);
      vm.vmcs.setReg(Reg.ECX, 4);
      vm.vmcs.set(X_GUEST_LINEAR, 0x5000);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(true), 2);
      expect(port.written).toHaveLength(2);
      expect(vm.vmcs.reg(Reg.ESI)).toBe(0x5002);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(2);
      expect(vm.vmcs.get(G_EIP)).toBe(0x1000); // the instruction restarts after the fault
      expect(vm.vmcs.get(E_INTR_INFO)).toBe((0x80000000 | (3 << 8) | (1 << 11) | 14) >>> 0);
      expect(vm.vmcs.get(E_INTR_ERROR)).toBe(0);
      expect(vm.vmcs.get(G_CR2)).toBe(0x5002);
    });

    it("marks a fault on INS as a write", () => {
      vm.mappedLimit = 0;
      vm.vmcs.setReg(Reg.EDI, 0x5000);
      vm.vmcs.set(X_GUEST_LINEAR, 0x5000);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit((0x3f8 << 16) | IOQ_STRING | IOQ_IN, 1);
      expect(vm.vmcs.get(E_INTR_ERROR)).toBe(2);
    });

    it("moves at most MAX_ELEMENTS_PER_EXIT elements per exit and leaves EIP on the instruction", () => {
      vm.vmcs.setReg(Reg.ESI, 0);
      vm.vmcs.setReg(Reg.ECX, MAX_ELEMENTS_PER_EXIT + 5);
      vm.vmcs.set(X_GUEST_LINEAR, 0);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(true), 2);
      expect(port.written).toHaveLength(MAX_ELEMENTS_PER_EXIT);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(5);
      expect(vm.vmcs.get(G_EIP)).toBe(0x1000);
    });

    it("takes a count of 2^31 or more as a count, not as nothing to do (which exited forever)", () => {
      vm.vmcs.setReg(Reg.ESI, 0);
      vm.vmcs.setReg(Reg.ECX, 0x80000002);
      vm.vmcs.set(X_GUEST_LINEAR, 0);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit(outs(true), 2);
      expect(port.written).toHaveLength(MAX_ELEMENTS_PER_EXIT);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(0x80000002 - MAX_ELEMENTS_PER_EXIT);
    });

    it("stops moving elements once a device ends the run", () => {
      vm.bus.register(0xf4, 1, { name: "exit", read: () => 0, write: () => vm.stop({ kind: "guest-exit", code: 0 }) });
      vm.vmcs.setReg(Reg.ECX, 10);
      vm.vmcs.set(X_INSTRUCTION_INFO, ADDR32);
      exit((0xf4 << 16) | IOQ_STRING | IOQ_REP, 2);
      expect(vm.vmcs.reg(Reg.ECX)).toBe(9);
    });
  });
});
