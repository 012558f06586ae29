// The I/O-port bus between the exit handler for IN/OUT and the device models, as in kvmtool and
// Firecracker: devices register a port range at start-up and the bus routes each access to the
// owner of its first port. Like a PC's ISA bus, a port nobody decodes reads as all ones and
// swallows writes. The lookup is one array index per access, because every IN/OUT costs a VM exit
// and this sits on that path.

import type { IoSize, PortDevice } from "./device.js";

interface Mapping {
  device: PortDevice;
  base: number;
}

const PORTS = 0x10000;
const ALL_ONES: Record<IoSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

export class IoBus {
  private readonly ports: (Mapping | undefined)[] = new Array(PORTS).fill(undefined);

  /**
   * Gives ports first .. first+count-1 to `device`, which sees them as offsets `offset` onwards
   * (for a device whose ports are not contiguous, like the 8042's 0x60 and 0x64); throws if any
   * of them is taken.
   */
  register(first: number, count: number, device: PortDevice, offset = 0): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1 || first < 0 || first + count > PORTS) {
      throw new RangeError(`bad port range ${first}+${count} for ${device.name}`);
    }
    for (let port = first; port < first + count; port++) {
      const owner = this.ports[port];
      if (owner) throw new Error(`port 0x${port.toString(16)} of ${device.name} is already taken by ${owner.device.name}`);
    }
    const mapping = { device, base: first - offset };
    for (let port = first; port < first + count; port++) this.ports[port] = mapping;
  }

  /** The device that decodes `port`, if any. */
  deviceAt(port: number): PortDevice | undefined {
    return this.ports[port & 0xffff]?.device;
  }

  read(port: number, size: IoSize): number {
    const mapping = this.ports[port & 0xffff];
    if (mapping === undefined) return ALL_ONES[size];
    return (mapping.device.read(port - mapping.base, size) & ALL_ONES[size]) >>> 0;
  }

  write(port: number, size: IoSize, value: number): void {
    const mapping = this.ports[port & 0xffff];
    if (mapping !== undefined) mapping.device.write(port - mapping.base, size, (value & ALL_ONES[size]) >>> 0);
  }
}
