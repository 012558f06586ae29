// The compiling tier's first compile in a process costs milliseconds more than the next ones: V8
// compiles the translator's JavaScript (and its WebAssembly encoder's) at their first calls. A
// guest would pay that inside its run, at its first hot block. instantiateCore() instead spends it
// while V8 compiles the core on its background threads and the main thread only waits: it
// translates the small function below, as a guest's compiled C would be, and compiles the module.
// Nothing of it is kept.

import { regionModule } from "./block-compiler.js";
import { RegionImports } from "./region-imports.js";
import { translateBlock, type Translation } from "./translate.js";

/**
 * gcc-style 32-bit code: a byte loop with MOVZX, SHL, LEA, ADD, IMUL, a store, CMP/Jcc, SAR by CL,
 * TEST, SETcc, MOVSX, SUB, DEC/JNZ, then a CALL to a helper with CMOVcc, LEAVE and RETs (GNU as's
 * bytes for the instructions in each line's comment).
 */
const SAMPLE = new Uint8Array([
  0x55, 0x89, 0xe5, 0x83, 0xec, 0x10, 0x8b, 0x4d, 0x08, 0x31, 0xc0, 0xbe, 0x64, 0x00, 0x00, 0x00, // push ebp; mov ebp,esp; sub esp,16; mov ecx,[ebp+8]; xor eax,eax; mov esi,100
  0x0f, 0xb6, 0x14, 0x31, 0xc1, 0xe2, 0x03, 0x8d, 0x14, 0x92, 0x01, 0xd0, 0x6b, 0xc0, 0x1f, // loop: movzx edx,byte [ecx+esi]; shl edx,3; lea edx,[edx+edx*4]; add eax,edx; imul eax,eax,31
  0x89, 0x45, 0xf8, 0x39, 0xd8, 0x7c, 0x0c, // mov [ebp-8],eax; cmp eax,ebx; jl skip
  0xd3, 0xf8, 0xa8, 0x01, 0x0f, 0x95, 0xc2, 0x0f, 0xbe, 0xd2, 0x29, 0xd0, // sar eax,cl; test al,1; setne dl; movsx edx,dl; sub eax,edx
  0x4e, 0x75, 0xdb, 0xe8, 0x02, 0x00, 0x00, 0x00, 0xc9, 0xc3, // skip: dec esi; jnz loop; call helper; leave; ret
  0x53, 0x8b, 0x5c, 0x24, 0x0c, 0x81, 0xe3, 0xff, 0x00, 0x00, 0x00, 0x83, 0xfb, 0x07, 0x0f, 0x4f, 0xc3, 0x5b, 0xc3, // helper: push ebx; mov ebx,[esp+12]; and ebx,0xff; cmp ebx,7; cmovg eax,ebx; pop ebx; ret
]);
/** Where the sample lies in its pretend RAM (not at 0: nothing special about the first page). */
const SAMPLE_AT = 0x1000;

/** Translates the sample as a region (every block counts as reached) and compiles its module; returns the translation. */
export function warmUpCompilingTier(): Translation | undefined {
  const ram = new Uint8Array(2 * SAMPLE_AT);
  ram.set(SAMPLE, SAMPLE_AT);
  const imports = new RegionImports();
  const t = translateBlock({
    code: ram, eip: SAMPLE_AT, physical: SAMPLE_AT, paging: false, cpl: 0, ramBase: 0, ramSize: ram.length,
    codePageMasks: 0, regs: 0, links: imports.links, reached: () => true, indirectTargets: 0, lastIndirectTarget: () => undefined,
    regionLinks: { blockCache: 0, get link() { return imports.link; } },
  });
  if (t) regionModule(t, imports, [0]);
  return t;
}
