// The contract between the core (assembly/) and the compiling tier's host half (src/jit/): the
// memory layouts compiled blocks read and write, the codes they pass to the core's helpers, and
// the core's globals and functions they import. Plain TypeScript that is also AssemblyScript, like
// vmcs-layout.ts, so both halves import the same numbers. The core re-exports every number here
// (assembly/index.ts) and the host checks them, with the kind of every export, when it instantiates
// the core (src/core/core-exports.ts): a core built from another version of this file fails at once.

// ---- Guest-physical memory ------------------------------------------------------------------
// The PC's hole between 640 KiB and 1 MiB (VGA frame buffer, ROMs): RAM for the interpreter, but
// compiled blocks leave it to the interpreter.
export const HOLE_START = 0xa0000;
export const HOLE_END = 0x100000;

// ---- The block cache (assembly/jit/block-cache.ts) --------------------------------------------
// Entries are indexed by the block's linear address and keyed by its physical address. The host
// compiler fills BLOCK_INSTRUCTIONS, BLOCK_REGION_BLOCKS and the entry's region blocks (below) and
// reads BLOCK_MODE. Entry i's compiled
// function sits in table slot BLOCK_FUNCTION, always the same one for the entry (the host's first
// block slot + i), so a block compiled anew replaces the one it evicts there.
export const BLOCK_CACHE_ENTRIES = 4096;
export const BLOCK_ENTRY_SIZE = 48;
export const BLOCK_PHYSICAL = 0; // physical address of the block's first byte
export const BLOCK_FUNCTION = 4; // table index of the compiled function, 0 = none
export const BLOCK_HITS = 8; // times the block was reached uncompiled; all ones when not compilable
export const BLOCK_INSTRUCTIONS = 12; // u8: instructions in the block
export const BLOCK_MODE = 13; // u8: the mode it was compiled for (BLOCK_MODE_PAGING | CPL << BLOCK_MODE_CPL_SHIFT)
export const BLOCK_REGION_BLOCKS = 14; // u8: blocks in its function, a region (src/jit/region.ts)
// u8: 1 when the entry holds a binary translation (assembly/bt/, --if-mode bt) instead of compiled
// code: its one region block is the translated block, tracked for writes as compiled ones are.
export const BLOCK_TRANSLATED = 15;
export const BLOCK_NEXT_ON_PAGE = 16; // u16: the next entry (index + 1) compiled from the same page (jit/code-pages.ts)
export const BLOCK_NEXT_ON_SECOND_PAGE = 18; // u16: the same, on the list of its region's second page (BLOCK_SECOND_PAGE)
// u16s at 28 and 30 (after BLOCK_BANKS): the previous entry on those two lists (index + 1, 0 = the
// list's head), so that an entry leaves a list without walking it.
export const BLOCK_PREV_ON_PAGE = 28;
export const BLOCK_PREV_ON_SECOND_PAGE = 30;
export const MAX_BLOCK_BYTES = 128;
export const BLOCK_LINEAR = 20; // the EIP it was compiled at (its code holds it) and validated for,
export const BLOCK_BANKS = 24; // in these TLB banks (a bit each),
export const BLOCK_CONTEXT = 32; // u64: in this context: the TLB generation << BLOCK_CONTEXT_MODE_BITS | the mode
export const BLOCK_STALLS = 40; // entries in a row that left before the first instruction
// The page number + 1 of the one other page its region has blocks in (REGION_BLOCK_IN_SECOND_PAGE),
// 0 when all lie in its first block's page (jit/code-pages.ts keeps it 0 while the entry is not tracked).
export const BLOCK_SECOND_PAGE = 44;
export const BLOCK_MODE_PAGING = 1;
export const BLOCK_MODE_CPL_SHIFT = 1;
export const BLOCK_CONTEXT_MODE_BITS = 3; // the mode's bits (paging, CPL) at the bottom of BLOCK_CONTEXT
export const BLOCK_MODE_CODE16 = 8; // a translation's code segment is 16-bit (its lengths depend on it)
// Where the blocks of each entry's function lie, for write tracking (jit/code-pages.ts): after the
// entries, MAX_REGION_BLOCKS u32s per entry, in entry order, the first for the entry's own block;
// each is the block's offset in its page (low 12 bits), REGION_BLOCK_IN_SECOND_PAGE when that page is
// the entry's BLOCK_SECOND_PAGE rather than its first block's, and its length in bytes (high 16).
// A region's blocks lie in at most two pages (src/jit/region.ts).
export const MAX_REGION_BLOCKS = 32;
export const REGION_BLOCK_IN_SECOND_PAGE = 0x8000;
export const REGION_BLOCKS_OFFSET = BLOCK_CACHE_ENTRIES * BLOCK_ENTRY_SIZE; // from the cache's base
export const REGION_BLOCKS_STRIDE = MAX_REGION_BLOCKS * 4;
// Then where indirect CALLs and JMPs went last (jit/indirect-targets.ts): INDIRECT_TARGET_SLOTS
// pairs of u32s, the branch's address and its target, slot = the address's low bits. The
// interpreter and compiled code leaving at such a branch write them; the host's compiler reads
// them to take a target in the branch's page into its region (src/jit/region.ts).
export const INDIRECT_TARGETS_OFFSET = REGION_BLOCKS_OFFSET + BLOCK_CACHE_ENTRIES * REGION_BLOCKS_STRIDE;
export const INDIRECT_TARGET_SLOTS = 1024;
export const INDIRECT_TARGET_SIZE = 8;
// Then the pages paged compiled code remembers (src/jit/translate.ts rememberedDelta): a region
// with no instruction the core performs (translate.ts pageCache) gives each of its first REMEMBERED_PAGE_SLOTS checks a slot of three
// u32s (the page's linear address, the limit start - page must be under, physical - linear), its
// limits zeroed as the region is entered: only one such region runs at a time (it leaves, or
// tail-calls another, before anything else runs compiled code).
export const REMEMBERED_PAGES_OFFSET = INDIRECT_TARGETS_OFFSET + INDIRECT_TARGET_SLOTS * INDIRECT_TARGET_SIZE;
export const REMEMBERED_PAGE_SLOTS = 256;
export const REMEMBERED_PAGE_SIZE = 12;

// ---- The software TLB (assembly/mmu/tlb.ts) ---------------------------------------------------
// The active bank (the global tlbBank holds its address) has TLB_ENTRIES tags (linear page number
// + 1, 0 = empty), then at TLB_ENTRIES_OFFSET as many entries: frame | permission bits.
export const TLB_ENTRIES = 1024;
export const TLB_ENTRIES_OFFSET = TLB_ENTRIES * 4;
// Permission bits of a shadow (and TLB) entry; supervisor reads need only a valid entry.
export const S_PRESENT = 1;
export const S_SUPER_WRITE = 2;
export const S_USER_READ = 4;
export const S_USER_WRITE = 8;
// Set in TLB entries (never in shadow entries) whose frame is plain RAM: compiled blocks require
// it, so one permission test also keeps them off the hole and unassigned addresses.
export const T_PLAIN_RAM = 0x40;

// ---- Lazy flags (assembly/cpu/flags.ts): the operation lfOp records ---------------------------
export const LAZY_ADD = 0; // also ADC and INC: carries out of the sum
export const LAZY_SUB = 1; // also SBB, CMP, NEG, DEC: borrows out of the difference
export const LAZY_LOGIC = 2; // AND OR XOR TEST: CF = OF = AF = 0

// ---- Helpers' arguments and answers (assembly/jit/helpers.ts) ---------------------------------
// jitPortIo's `info`: direction, size, port from an imm8, instruction length.
export const IO_INFO_INPUT = 1;
export const IO_INFO_SIZE_SHIFT = 1; // bytes: 1, 2 or 4, in bits 1-3
export const IO_INFO_IMMEDIATE = 0x10;
export const IO_INFO_LENGTH_SHIFT = 8;
// jitLoadCr3's answers.
export const CR3_MUST_EXIT = 0; // the load exits instead: the block ends before it
export const CR3_SWITCHED = 1; // switched; the block's own page may map elsewhere now
export const CR3_SWITCHED_SAME_PAGE = 2; // switched; the block's page still maps to its frame
// jitInterpret's answer when the instruction completed but the block must end after it (any
// other nonzero answer: it exited or faulted, as jitPortIo's).
export const INTERPRETED_BLOCK_ENDS = 0x100;

// ---- Interpreted forms (assembly/jit/interpreted-forms.ts) -------------------------------------
// The core's table of counts of instructions the interpreter performed where compiled code could
// run: index = opcode (one-byte map 0-255, 0F map 256-511) | the prefix bits below; the last entry
// counts instructions whose bytes the fetch window no longer held.
export const INTERPRETED_FORM_OPERAND_SIZE = 0x200; // with a 66 prefix
export const INTERPRETED_FORM_REPEAT = 0x400; // with an F2 or F3 prefix
export const INTERPRETED_FORMS = 0x801;
export const INTERPRETED_FORM_UNSEEN = 0x800;

// ---- What a compiled block imports from the core (module "core") ------------------------------
// Mutable globals, in import order: i32 but those of JIT_I64_GLOBALS.
export const JIT_GLOBALS: string[] = [
  "eip", "budget", "flagsWord", "lazyMask", "lfOp", "lfA", "lfB", "lfRes", "lfSign", "tlbBank", "rangeExit", "hostWorkOwed",
  "tlbGeneration", "tlbBankBit",
];
export const JIT_I64_GLOBALS: string[] = ["tlbGeneration"];
// Functions, in import order, with their parameter counts; each returns one i32.
export const JIT_FUNCTIONS: string[] = [
  "jitCondition", "jitCarry", "jitEflags", "jitLoadCr3", "jitPortIo", "jitExit", "jitInterpret", "jitShift", "jitMulDiv",
  "jitShiftDouble", "jitLoadSegment", "jitSoftwareInterrupt", "jitInterruptReturn",
  "jitFastSystemCall", "jitVmAccess", "jitVmxNoOperand", "jitRepString",
];
export const JIT_FUNCTION_PARAMS = [1, 0, 0, 3, 4, 4, 3, 4, 3, 4, 5, 2, 1, 2, 5, 4, 5];
