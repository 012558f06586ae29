import { describe, expect, it } from "vitest";
import { C_PREEMPTION_TIMER, G_CPL, G_EIP, G_INSTRET_LO, X_INSTRUCTION_LENGTH } from "../../../assembly/vmcs-layout.js";
import { Reg } from "../../../src/core/vmcs.js";
import { handleVmcall } from "../../../src/vmm/exits/vmcall.js";
import {
  HC_CLOCK,
  HC_CONSOLE_WRITE,
  HC_EFAULT,
  HC_EINVAL,
  HC_ENOSYS,
  HC_EPERM,
  HC_EXIT,
  HC_EXIT_COUNT,
  HC_INJECT_AFTER,
  MAX_CONSOLE_WRITE,
} from "../../../src/vmm/hypercalls.js";
import { FakeContext } from "./fake-context.js";

function vmcall(eax: number, ebx = 0, ecx = 0, setup: (vm: FakeContext) => void = () => {}): FakeContext {
  const vm = new FakeContext();
  vm.vmcs.set(G_EIP, 0x2000);
  vm.vmcs.set(X_INSTRUCTION_LENGTH, 3);
  vm.vmcs.setReg(Reg.EAX, eax);
  vm.vmcs.setReg(Reg.EBX, ebx);
  vm.vmcs.setReg(Reg.ECX, ecx);
  setup(vm);
  handleVmcall(vm);
  return vm;
}

const eax = (vm: FakeContext) => vm.vmcs.i32[0]; // signed, as the guest reads an error

describe("hypercalls (VMCALL, reason 18)", () => {
  it("console-write: ECX bytes at EBX go to the console; EAX = bytes written; EIP past VMCALL", () => {
    const vm = vmcall(HC_CONSOLE_WRITE, 0x5000, 3, (v) => v.ram.set([0x68, 0x69, 0x0a], 0x5000));
    expect(String.fromCharCode(...vm.console)).toBe("hi\n");
    expect(eax(vm)).toBe(3);
    expect(vm.vmcs.get(G_EIP)).toBe(0x2003);
  });

  it("console-write: an unmapped buffer is EFAULT and writes nothing; an oversized one EINVAL", () => {
    const unmapped = vmcall(HC_CONSOLE_WRITE, 0xffff0, 0x20, (v) => (v.mappedLimit = 0x100000));
    expect(eax(unmapped)).toBe(HC_EFAULT);
    expect(unmapped.console).toEqual([]);
    expect(eax(vmcall(HC_CONSOLE_WRITE, 0, MAX_CONSOLE_WRITE + 1))).toBe(HC_EINVAL);
  });

  it("console-write: a host short of room takes what fits and says so, as a short write(2)", () => {
    const text = (v: FakeContext) => v.ram.set([0x61, 0x62, 0x63, 0x64], 0x5000);
    const short = vmcall(HC_CONSOLE_WRITE, 0x5000, 4, (v) => (text(v), (v.room = 3)));
    expect(eax(short)).toBe(3);
    expect(String.fromCharCode(...short.console)).toBe("abc");
    const full = vmcall(HC_CONSOLE_WRITE, 0x5000, 4, (v) => (text(v), (v.room = 0)));
    expect(eax(full)).toBe(0);
    expect(full.console).toEqual([]);
  });

  it("console-write: only the part the host accepts is read, so a full console is not EFAULT", () => {
    const vm = vmcall(HC_CONSOLE_WRITE, 0xffff0, 0x20, (v) => ((v.mappedLimit = 0xffff8), (v.room = 8)));
    expect(eax(vm)).toBe(8);
    expect(vm.console).toHaveLength(8);
  });

  it("clock: the instructions retired in EDX:EAX", () => {
    const vm = vmcall(HC_CLOCK, 0, 0, (v) => {
      v.vmcs.set(G_INSTRET_LO, 0x1234);
      v.vmcs.set(G_INSTRET_LO + 4, 2);
    });
    expect(vm.vmcs.reg(Reg.EAX)).toBe(0x1234);
    expect(vm.vmcs.reg(Reg.EDX)).toBe(2);
  });

  it("exit: ends the run with the status in EBX", () => {
    expect(vmcall(HC_EXIT, 7).stops).toEqual([{ kind: "guest-exit", code: 7 }]);
  });

  it("exit-count: the exits with reason EBX so far in EDX:EAX", () => {
    const vm = vmcall(HC_EXIT_COUNT, 18, 0, (v) => [18, 18, 10].forEach((r) => v.stats.record(r)));
    expect([vm.vmcs.reg(Reg.EAX), vm.vmcs.reg(Reg.EDX)]).toEqual([2, 0]);
    expect(eax(vmcall(HC_EXIT_COUNT, 0x1000))).toBe(0);
  });

  it("inject-after: schedules vector EBX after ECX instructions and shortens the current budget", () => {
    const vm = vmcall(HC_INJECT_AFTER, 0x40, 500, (v) => v.vmcs.set(C_PREEMPTION_TIMER, 2_000_000));
    expect(eax(vm)).toBe(0);
    expect(vm.timer.next).toBe(500);
    expect(vm.vmcs.get(C_PREEMPTION_TIMER)).toBe(500);
  });

  it.each([0, 31, 256])("inject-after: vector %i is EINVAL (exceptions are not interrupts)", (vector) => {
    const vm = vmcall(HC_INJECT_AFTER, vector, 10);
    expect(eax(vm)).toBe(HC_EINVAL);
    expect(vm.timer.next).toBe(Infinity);
  });

  it("an unknown function is ENOSYS; a call from CPL 3 is EPERM and does nothing", () => {
    expect(eax(vmcall(0))).toBe(HC_ENOSYS);
    expect(eax(vmcall(99))).toBe(HC_ENOSYS);
    const user = vmcall(HC_EXIT, 1, 0, (v) => v.vmcs.set(G_CPL, 3));
    expect(eax(user)).toBe(HC_EPERM);
    expect(user.stops).toEqual([]);
    expect(user.vmcs.get(G_EIP)).toBe(0x2003);
  });
});
