// The EFLAGS bits the host side names (SDM Vol. 1, 3.4.3): the six arithmetic flags and DF.
// The core has its own copies in AssemblyScript (assembly/cpu/state.ts).

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
/** The status flags an arithmetic instruction defines. */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
