// Port I/O: IN OUT INS OUTS. The core has no devices; every I/O instruction that passes the
// protection checks (IOPL, then the TSS I/O permission bitmap) leaves non-root mode with exit
// reason 30 when the VMCS asks for it (unconditional I/O exiting, or the port's bit in I/O bitmap
// A/B), and the VMM's device bus completes it. Without an exit, IN reads all ones (no device).
import {
  IO_BITMAP_A, IO_BITMAP_B, EXIT_IO, IOQ_IN, IOQ_STRING, IOQ_REP,
  CTL_UNCONDITIONAL_IO, CTL_USE_IO_BITMAPS, SR_TR, SR_DS, SR_ES,
} from "../vmcs-layout";
import {
  cpl, raise, pending, EXC_GP, IOPL, a32, r32, r16, segOverride, repPrefix, segBase, segLimit,
  ESI, EDI, EAX,
} from "./state";
import { flagsWord } from "./flags";
import { controls, vmexit, setExitLinear } from "./vmexit";
import { linRead } from "../memory/linear";
import { segAddr } from "./segment";
import { writeReg } from "./modrm";
import { stringInstruction, STR_INS, STR_OUTS } from "./string";
import { portIoInCore } from "../vm/exits-in-core";

// SDM 19.5.2: at CPL > IOPL the TSS I/O permission bitmap decides.
function portAllowed(port: u32, bytes: u32): bool {
  if (cpl <= ((flagsWord & IOPL) >> 12)) return true;
  const limit = segLimit(SR_TR);
  if (limit < 0x67) return false;
  const base = segBase(SR_TR);
  const mapOffset = linRead(base + 0x66, 2, false);
  const byteOffset = mapOffset + (port >> 3);
  if (pending || byteOffset + 1 > limit) return false;
  const bitsWord = linRead(base + byteOffset, 2, false);
  if (pending) return false;
  return ((bitsWord >> (port & 7)) & ((1 << bytes) - 1)) == 0;
}

function portExits(port: u32, bytes: u32): bool {
  const ctl = controls();
  if (ctl & CTL_USE_IO_BITMAPS) {
    if (port + bytes > 0x10000) return true; // wrapping past port 0xFFFF always exits (SDM 25.1.3)
    for (let p = port; p < port + bytes; p++) {
      const q = p & 0xffff;
      const map = q < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B;
      if ((load<u8>(map + ((q & 0x7fff) >> 3)) >> (q & 7)) & 1) return true;
    }
    return false;
  }
  return (ctl & CTL_UNCONDITIONAL_IO) != 0;
}

// IN and OUT. `immediate` says the port came from an imm8 rather than DX.
export function portIo(input: bool, port: u32, bytes: u32, immediate: bool): void {
  if (!portAllowed(port, bytes)) { if (!pending) raise(EXC_GP, 0); return; }
  if (portExits(port, bytes)) {
    const qualification = (bytes - 1) | (input ? IOQ_IN : 0) | (immediate ? 1 << 6 : 0) | (port << 16);
    if (!portIoInCore(port, bytes, qualification)) vmexit(EXIT_IO, qualification);
    return;
  }
  if (input) writeReg(EAX, bytes, 0xffffffff);
}

// INS and OUTS: the VMM emulates the whole (REP) instruction from the exit information.
export function stringIo(input: bool, port: u32, bytes: u32): void {
  if (!portAllowed(port, bytes)) { if (!pending) raise(EXC_GP, 0); return; }
  const seg: u32 = input ? SR_ES : (segOverride >= 0 ? <u32>segOverride : SR_DS);
  const off = input ? (a32 ? r32(EDI) : r16(EDI)) : (a32 ? r32(ESI) : r16(ESI));
  const lin = segAddr(seg, off, bytes, input);
  if (pending) return;
  if (portExits(port, bytes)) {
    setExitLinear(lin, ((a32 ? 1 : 0) << 7) | (seg << 15));
    vmexit(EXIT_IO, (bytes - 1) | (input ? IOQ_IN : 0) | IOQ_STRING | (repPrefix ? IOQ_REP : 0) | (port << 16));
    return;
  }
  stringInstruction(input ? STR_INS : STR_OUTS, bytes);
}

