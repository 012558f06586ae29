// Which forms the interpreter performs where compiled code could have run (--stats, --stats-json):
// what keeps a guest's hot code out of compiled blocks, per opcode, so that the next form worth
// compiling is measured, not guessed. Off unless the VMM asks (countInterpretedForms), because it
// costs the interpreter a few nanoseconds per instruction; the run loop tests one flag otherwise.
// Counts start at zero in every core (a restored machine's too): they describe this run.
import { instrStart } from "../cpu/state";
import { winStart, winLen, winBias } from "../mmu/fetch-window";
import { INTERPRETED_FORMS, INTERPRETED_FORM_OPERAND_SIZE, INTERPRETED_FORM_REPEAT, INTERPRETED_FORM_UNSEEN } from "../jit-abi";

export let countingForms: bool = false;
let counts: u32 = 0; // address of INTERPRETED_FORMS u32s, taken when counting is first asked for

export function countInterpretedForms(on: bool): void {
  if (on && counts == 0) {
    const first = memory.grow(<i32>((INTERPRETED_FORMS * 4 + 0xffff) >>> 16));
    if (first < 0) return; // no memory for it: no counting
    counts = <u32>first << 16; // freshly grown memory is zero
  }
  countingForms = on;
}
export function interpretedFormCounts(): u32 { return counts; }

@inline function count(index: u32): void {
  const at = counts + (index << 2);
  store<u32>(at, load<u32>(at) + 1);
}

// The form of the instruction at `at` as the fetch window holds it: its opcode (one-byte 0-255,
// 0F map 256-511) and whether an operand-size or REP/REPNE prefix came with it; or
// INTERPRETED_FORM_UNSEEN when the window does not hold its bytes.
export function formAt(at: u32): u32 {
  let prefixes: u32 = 0;
  for (let i = 0; i < 15; i++) {
    if (at - winStart >= winLen) break;
    const b = <u32>load<u8>(winBias + at);
    at++;
    if (b == 0x66) prefixes |= INTERPRETED_FORM_OPERAND_SIZE;
    else if (b == 0xf2 || b == 0xf3) prefixes |= INTERPRETED_FORM_REPEAT;
    else if (b == 0x0f) return at - winStart < winLen ? prefixes | 0x100 | <u32>load<u8>(winBias + at) : INTERPRETED_FORM_UNSEEN;
    else if (!(b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x67 || b == 0xf0)) return prefixes | b;
  }
  return INTERPRETED_FORM_UNSEEN;
}

// Count the instruction the interpreter just performed at instrStart: its form as read before it
// ran (`before`, from formAt(), while the window held its bytes), else as the window holds it now
// (an instruction that jumped into a new page fetched its bytes into the window; one that moved
// the window away, a far transfer, may be seen by neither).
export function countInterpretedForm(before: u32): void {
  count(before != INTERPRETED_FORM_UNSEEN ? before : formAt(instrStart));
}
