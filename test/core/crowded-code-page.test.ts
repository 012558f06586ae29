// A guest decides how many blocks one page holds: binary translation (--if-mode bt) makes one per
// branch, so a page of 2-byte JMPs holds 2,047. Write tracking (assembly/jit/code-pages.ts) must
// not let that make the host's work grow with the square of the blocks: an entry leaves its page's
// list in constant time, whether evicted by another block or forgotten after a write, and the walk
// a store into a marked chunk makes is charged as host work, so that the budget bounds it. The work
// is read as the core charges it (STAT_HOST_WORK: these guests run under bt with paging off, where
// nothing else is charged, so the walks are all of it), not timed. (Before the lists were doubly
// linked, each eviction walked the page's list, and each also recomputed the page's mask from the
// whole list: the fuzzer found bt cases of ~126,000 instructions that took 2-6 s.)
import { describe, it, expect } from "vitest";
import { TestCpu, CODE_BASE } from "./harness";
import * as L from "../../assembly/vmcs-layout";
import { cpuIn, vmcs64 as u64 } from "./ifmode-cpu";

const btCpu = () => cpuIn(L.IF_MODE_BT, 0x2);
const translations = (cpu: TestCpu) => u64(cpu, L.STAT_BT_BLOCKS_LO);
const hostWork = (cpu: TestCpu) => u64(cpu, L.STAT_HOST_WORK_LO);
function mask(cpu: TestCpu, page: number): bigint {
  return new DataView(cpu.core.memory.buffer).getBigUint64(cpu.core.codePageMasks() + page * 8, true);
}

// Page A: 2,046 JMPs to the next byte pair (a block each), then RET. Page B, right after it: the
// same from offset 1, so that each of its blocks takes the cache entry of one of A's (block-cache.ts
// entryFor: offset ^ page number, and A's page number ^ B's is 3).
const A = CODE_BASE + 0x1000, B = CODE_BASE + 0x2000;
const JMPS = 2046;
const PAGES = `.org 0x1000, 0x90\n.rept ${JMPS}\n.byte 0xeb, 0\n.endr\nret\n.org 0x2001, 0x90\n.rept ${JMPS}\n.byte 0xeb, 0\n.endr\nret`;
const ROUNDS = 4;

describe("thousands of translated blocks on one page", () => {
  it("evicted by the blocks of another page, round after round: no walk of the page's list", () => {
    const cpu = btCpu();
    const source = `mov $${ROUNDS}, %ebp\n1: call ${A}\ncall ${B + 1}\ndec %ebp\njnz 1b\nhlt\nmovb $0x90, ${A}\nhlt\n${PAGES}`;
    expect(cpu.exec(source)).toBe(L.EXIT_HLT);
    expect(translations(cpu)).toBeGreaterThan(2 * ROUNDS * JMPS); // every block translated anew each round
    expect(hostWork(cpu)).toBe(0); // no write into code: nothing walked
    // The last round's B evicted every block A had but its RET (whose entry none of B's takes):
    // the mask still marks the chunks the others reached, until a store into one walks the list.
    expect(mask(cpu, A >>> 12)).toBe(0xffffffffffffffffn);
    cpu.eip += 1;
    expect(cpu.run()).toBe(L.EXIT_HLT);
    expect(hostWork(cpu)).toBe(1 + 1); // the walk, the RET
    expect(mask(cpu, A >>> 12)).toBe(1n << 63n); // the RET's chunk alone
  });

  it("forgotten by a write over the page, round after round: one walk of its list per write", () => {
    const cpu = btCpu();
    const copy = `mov $${A}, %esi\nmov $${A}, %edi\nmov $4096, %ecx\nrep movsb`; // the same bytes: the page is written all the same
    expect(cpu.exec(`mov $${ROUNDS}, %ebp\n1: call ${A}\n${copy}\ndec %ebp\njnz 1b\nhlt\n${PAGES}`)).toBe(L.EXIT_HLT);
    expect(translations(cpu)).toBeGreaterThan(ROUNDS * JMPS);
    // each write walks the page's list once (a unit per walk and per block looked at): 2,048 a round
    expect(hostWork(cpu)).toBe(ROUNDS * (1 + JMPS + 1));
    expect(mask(cpu, A >>> 12)).toBe(0n); // the list emptied: the mask with it
  });

  // Stores into the last chunk, which a RET there marks, beside 2,046 blocks of the page: each store
  // that changes a byte walks the whole list, and the budget must see it.
  const STORES = 1000;
  const storing = `call ${A}\ncall ${A + 0xfc0}\nmov $${STORES}, %ecx\n1: mov %ecx, ${A + 0xfe8}\ndec %ecx\njnz 1b\nhlt
.org 0x1000, 0x90\n.rept ${JMPS - 32}\n.byte 0xeb, 0\n.endr\nret\n.org 0x1fc0, 0x90\nret`;

  it("a store beside them, into a chunk they mark, is charged for the walk it makes", () => {
    const cpu = btCpu();
    cpu.setVmcs(L.C_HOST_WORK_YIELD, 0); // off: the VMM's setting (on) would end the entry early
    expect(cpu.exec(storing)).toBe(L.EXIT_HLT);
    // a unit per walk and per block looked at: A's JMPs and RET, the RET at 0xfc0 (less the few
    // whose cache entries the loop's own blocks took)
    const work = hostWork(cpu);
    expect(work).toBeGreaterThan(STORES * (JMPS - 32 - 4));
    expect(work).toBeLessThanOrEqual(STORES * (1 + JMPS - 32 + 2));
  });

  it("with the host-work yield on, those stores end the entry before its budget does", () => {
    const cpu = btCpu();
    expect(cpu.vmcs(L.C_HOST_WORK_YIELD)).toBe(1); // as the VMM sets it
    expect(cpu.exec(storing, 200_000)).toBe(L.EXIT_PREEMPTION_TIMER);
    expect(cpu.vmcs(L.X_QUALIFICATION)).toBe(L.PREEMPTION_HOST_WORK);
    expect(cpu.reg("ecx")).toBeLessThan(STORES); // some stores made: ~100 walks took the 200,000 units
    expect(hostWork(cpu)).toBeLessThanOrEqual(200_000 + 2 * JMPS); // within a walk of it
  });
});
