// The PC around the guest CPU: which device sits on which ports and which interrupt line, wired
// as on an ISA PC (kvmtool's and Firecracker's device set-up, in one place). Devices know nothing
// of each other: each gets its IRQ line from the PIC pair and, for the timers, the VM's clock;
// the PIC tells the VMM when it raises INTR, and the VMM's injector asks it for the vector when
// the guest can take the interrupt.
//
//   0x020-0x021  PIC master      IRQ 0  PIT channel 0      IRQ 8   RTC
//   0x040-0x043  PIT             IRQ 1  keyboard           IRQ 2   cascade from the slave PIC
//   0x060, 0x064 8042 keyboard   IRQ 3  COM2               IRQ 4   COM1
//   0x070-0x071  CMOS/RTC
//   0x0A0-0x0A1  PIC slave
//   0x2F8, 0x3F8 COM2, COM1
//   0x0F4        isa-debug-exit (QEMU's, for test kernels)
//   0x3C0-0x3DF  VGA registers (the text frame buffer is RAM at 0xB8000, mode 13h's at 0xA0000)
//   0x1CE-0x1CF  the std-VGA's dispi interface (its video memory at PCI BAR 0, 0xFD000000)
//   0xCF8-0xCFF  PCI configuration space: 00:00.0 i440FX host bridge, 00:02.0 std-VGA
// With a disk image, two block devices share it:
//   0x1F0-0x1F7, 0x3F6  ATA disk (PIO), IRQ 14     0xA00-0xA23  paravirtual block device, IRQ 11

import { CMOS_PORT, CMOS_PORT_COUNT, CmosRtc, DEFAULT_RTC_START_MS, RTC_IRQ } from "../devices/cmos-rtc.js";
import type { IoBus } from "../devices/bus.js";
import { I8042, I8042_COMMAND_PORT, I8042_DATA_PORT, KEYBOARD_IRQ } from "../devices/i8042.js";
import { DualPic, PIC_MASTER_PORT, PIC_PORT_COUNT, PIC_SLAVE_PORT } from "../devices/pic-8259.js";
import { PIT_IRQ, PIT_PORT, PIT_PORT_COUNT, Pit8254 } from "../devices/pit-8254.js";
import { COM1_IRQ, COM1_PORT, COM2_IRQ, COM2_PORT, SCRATCH_REGISTER, SERIAL_PORT_COUNT, Serial16550, type SerialSink } from "../devices/serial-16550.js";
import { plainLatch, type Latch } from "../devices/latch.js";
import type { VgaText } from "../devices/vga-text.js";
import { PCI_CONFIG_PORT, PCI_CONFIG_PORT_COUNT, PciBus } from "../devices/pci-bus.js";
import { HOST_BRIDGE_SLOT, STD_VGA_SLOT, hostBridge } from "../devices/pci-functions.js";
import { StdVga } from "../devices/std-vga.js";
import { ATA_CONTROL_OFFSET, ATA_PRIMARY_CONTROL_PORT, ATA_PRIMARY_IRQ, ATA_PRIMARY_PORT, ATA_PRIMARY_PORT_COUNT, AtaPio } from "../devices/ata-pio.js";
import type { BlockBackend } from "../devices/block-backend.js";
import { PV_BLOCK_IRQ, PV_BLOCK_PORT, PV_BLOCK_PORT_COUNT, PvBlock, type DmaMemory } from "../devices/pv-block.js";
import type { VirtualClock } from "./virtual-clock.js";

export interface PcPlatformOptions {
  bus: IoBus;
  clock: VirtualClock;
  memoryBytes: number;
  /** Where COM1's output goes (the console). */
  com1Output: SerialSink;
  /** Called when the PIC raises INTR: the VMM injects or opens an interrupt window. */
  onInterrupt: () => void;
  /** The RTC's date and time at power-on, in ms since 1970. */
  rtcStartMs?: number;
  /** A disk image for the ATA disk and the paravirtual block device. */
  disk?: BlockBackend;
  /** Guest RAM, for the paravirtual device's DMA. */
  memory: DmaMemory;
  /** Where a device keeps a register at `port` that only holds what was written (exits-in-core.ts); by default, in the device. */
  latch?: (port: number, mask: number) => Latch;
  /** The std-VGA's video memory (the core's device memory). */
  videoMemory: () => Uint8Array;
  /** Makes the video memory appear at guest-physical `base` (undefined: nowhere), where PCI BAR 0 says. */
  mapVideoMemory: (base: number | undefined) => void;
}

export class PcPlatform {
  readonly pic: DualPic;
  readonly pit: Pit8254;
  readonly com1: Serial16550;
  readonly com2: Serial16550;
  readonly rtc: CmosRtc;
  readonly keyboard: I8042;
  /** The std-VGA: its VGA registers (also `vga`), dispi interface and PCI function. */
  readonly display: StdVga;
  readonly vga: VgaText;
  readonly pci = new PciBus();
  readonly ata: AtaPio | undefined;
  readonly pvBlock: PvBlock | undefined;
  /** The disk image behind the ATA disk and the paravirtual device, if there is one. */
  readonly disk: BlockBackend | undefined;
  /** COM2's output; nothing listens unless the embedder does. */
  com2Output: SerialSink = () => {};

  constructor(options: PcPlatformOptions) {
    const { bus, clock } = options;
    this.pic = new DualPic(options.onInterrupt);
    bus.register(PIC_MASTER_PORT, PIC_PORT_COUNT, this.pic.master);
    bus.register(PIC_SLAVE_PORT, PIC_PORT_COUNT, this.pic.slave);

    this.pit = new Pit8254(clock, this.pic.line(PIT_IRQ));
    bus.register(PIT_PORT, PIT_PORT_COUNT, this.pit);

    const latch = options.latch ?? plainLatch;
    const scratch = (base: number) => latch(base + SCRATCH_REGISTER, 0xff);
    this.com1 = new Serial16550(options.com1Output, this.pic.line(COM1_IRQ), "com1-16550", scratch(COM1_PORT));
    bus.register(COM1_PORT, SERIAL_PORT_COUNT, this.com1);
    this.com2 = new Serial16550((byte) => this.com2Output(byte), this.pic.line(COM2_IRQ), "com2-16550", scratch(COM2_PORT));
    bus.register(COM2_PORT, SERIAL_PORT_COUNT, this.com2);

    const rtcStart = options.rtcStartMs ?? (clock.mode === "real" ? Date.now() : DEFAULT_RTC_START_MS);
    this.rtc = new CmosRtc(clock, options.memoryBytes, this.pic.line(RTC_IRQ), rtcStart);
    bus.register(CMOS_PORT, CMOS_PORT_COUNT, this.rtc);

    this.keyboard = new I8042(this.pic.line(KEYBOARD_IRQ));
    bus.register(I8042_DATA_PORT, 1, this.keyboard);
    bus.register(I8042_COMMAND_PORT, 1, this.keyboard, I8042_COMMAND_PORT - I8042_DATA_PORT);

    const { videoMemory } = options;
    this.display = new StdVga(bus, { ram: () => options.memory.ram(), video: videoMemory }, videoMemory().length, options.mapVideoMemory);
    this.vga = this.display.vga;
    bus.register(PCI_CONFIG_PORT, PCI_CONFIG_PORT_COUNT, this.pci);
    this.pci.plug(HOST_BRIDGE_SLOT, hostBridge());
    this.pci.plug(STD_VGA_SLOT, this.display.pci);

    const { disk } = options;
    this.disk = disk;
    if (disk !== undefined) {
      this.ata = new AtaPio(disk, this.pic.line(ATA_PRIMARY_IRQ));
      bus.register(ATA_PRIMARY_PORT, ATA_PRIMARY_PORT_COUNT, this.ata);
      bus.register(ATA_PRIMARY_CONTROL_PORT, 1, this.ata, ATA_CONTROL_OFFSET);
      this.pvBlock = new PvBlock(disk, options.memory, this.pic.line(PV_BLOCK_IRQ));
      bus.register(PV_BLOCK_PORT, PV_BLOCK_PORT_COUNT, this.pvBlock);
    }
  }
}
