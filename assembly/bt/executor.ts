// Runs the guest kernel's code under --if-mode bt, where it runs only as translated code (docs/
// design.md, "Binary translation"): each instruction at CPL 0 is taken from the translation of its
// block (translator.ts), made on the block's first run and kept in the block cache until the guest
// writes to its bytes. An instruction copied as it is (BT_IDENT) runs as the CPU runs it, still
// deprivileged as under classic; a rewritten one runs against the virtual CPU (ifmode.ts
// virtualView): CLI and STI as a store to the virtual IF, the others by the instruction's own
// semantics with the virtual view. Callouts end the block. Each performed rewrite is counted.
import {
  VMCS_BASE, STAT_BT_KINDS_LO, BT_IDENT, BT_CLI, BT_STI, BT_POPF, BT_IRET, BT_INTERRUPT_DELIVERY,
  BT_FIRST_CALLOUT, CTL_INTERRUPT_WINDOW,
} from "../vmcs-layout";
import { BLOCK_PHYSICAL, BLOCK_MODE, BLOCK_INSTRUCTIONS, BLOCK_TRANSLATED } from "../jit-abi";
import { eip, instrStart, segBase, IF, pending } from "../cpu/state";
import { SR_CS } from "../vmcs-layout";
import { flagsWord } from "../cpu/flags";
import { windowFromEip, eipPhysical } from "../cpu/fetch";
import { step, writeInterruptFlag } from "../cpu/execute";
import { setVirtualView } from "../cpu/ifmode";
import { controls } from "../cpu/vmexit";
import { entryFor } from "../jit/block-cache";
import { tlbGeneration } from "../mmu/tlb";
import { translateBlock, decodeAlone, aloneKind, translationMode, lengthAt, kindAt, ENDS_BLOCK, KIND_MASK } from "./translator";

// The block being run: its cache entry (0: none, look EIP up), the next instruction's index and
// the EIP where it starts. Any other EIP (a branch, an exit, an interrupt) looks the block up again,
// and so does a dropped translation (the TLB generation it was entered at moved): a store into the
// guest's page tables may have mapped the block's page elsewhere, as the interpreter's next fetch
// would see at once.
let current: u32 = 0;
let index: u32 = 0;
let count: u32 = 0;
let nextEip: u32 = 0;
let enteredGeneration: u64 = 0;

// At VM entry: the VMM may have changed anything (paging, EIP), so the next instruction looks up.
export function leaveTranslatedBlock(): void { current = 0; }

// One guest-kernel instruction, from its translation. Its budget is the run loop's, as for step().
export function translatedStep(): void {
  instrStart = eip;
  if (current == 0 || eip != nextEip || index >= count || load<u8>(current + BLOCK_TRANSLATED) == 0 ||
    tlbGeneration != enteredGeneration) {
    if (!enterBlock()) {
      if (!pending) performAlone();
      return;
    }
  }
  const length = lengthAt(current, index);
  const kind = kindAt(current, index);
  index++;
  nextEip = eip + length;
  if (kind & ENDS_BLOCK) current = 0;
  perform(kind & KIND_MASK, length);
}

// Finds or makes the translation of the block at EIP. False when the fetch faulted (pending) or the
// instruction at EIP is not inside the window: it is then translated alone.
function enterBlock(): bool {
  current = 0;
  const window = windowFromEip();
  if (window <= 0) return false;
  const physical = eipPhysical();
  const entry = entryFor(segBase(SR_CS) + eip);
  if (!(load<u8>(entry + BLOCK_TRANSLATED) != 0 && load<u32>(entry + BLOCK_PHYSICAL) == physical &&
    <u32>load<u8>(entry + BLOCK_MODE) == translationMode())) {
    if (!translateBlock(entry, physical, <u32>window)) return false;
  }
  current = entry;
  enteredGeneration = tlbGeneration;
  index = 0;
  count = <u32>load<u8>(entry + BLOCK_INSTRUCTIONS);
  return true;
}

// The instruction at EIP runs past the window, or is outside RAM: decoded with faulting fetches
// every time it runs (not cached: write tracking covers one page).
function performAlone(): void {
  const length = decodeAlone();
  if (length == 0) return; // the fetch faulted
  perform(aloneKind & KIND_MASK, length);
}

function perform(kind: u32, length: u32): void {
  if (kind == BT_IDENT) { step(); return; }
  count1(kind);
  const ifBefore = flagsWord & IF;
  if (kind == BT_CLI || kind == BT_STI) {
    eip += length;
    writeInterruptFlag(kind == BT_STI);
  } else {
    setVirtualView(true);
    step();
    setVirtualView(false);
  }
  if (kind >= <u32>BT_FIRST_CALLOUT) current = 0;
  // The virtual IF was set while the VMM waits to inject: the interrupt-window exit at the next
  // boundary calls out to it.
  if ((kind == BT_STI || kind == BT_POPF || kind == BT_IRET) && !ifBefore && (flagsWord & IF) != 0 &&
    (controls() & CTL_INTERRUPT_WINDOW) != 0) count1(BT_INTERRUPT_DELIVERY);
}

@inline function count1(kind: u32): void {
  const at = VMCS_BASE + STAT_BT_KINDS_LO + ((kind - 1) << 3);
  store<u64>(at, load<u64>(at) + 1);
}
