// A region's module imports only the core globals and functions its code uses (src/jit/region-imports.ts),
// numbered in the order the translator first asks for them.
import { describe, expect, it } from "vitest";
import { RegionImports } from "../../src/jit/region-imports";
import { regionModule } from "../../src/jit/block-compiler";
import { translateBlock } from "../../src/jit/translate";

function translated(bytes: number[]) {
  const code = new Uint8Array(0x3000);
  code.set(bytes, 0x1000);
  const imports = new RegionImports();
  const t = translateBlock({
    code, eip: 0x1000, physical: 0x1000, paging: false, cpl: 0, ramBase: 0x10000, ramSize: code.length, codePageMasks: 0, regs: 0x1000,
    links: imports.links, reached: () => true, regionLinks: { blockCache: 0, get link() { return imports.link; } },
  })!;
  return { t, imports, names: WebAssembly.Module.imports(regionModule(t, imports, [0])).map((i) => i.name) };
}

describe("a region's imports", () => {
  it("are numbered in the order of first use, each once", () => {
    const imports = new RegionImports();
    expect([imports.links.budget, imports.links.jitExit, imports.links.eip, imports.links.budget, imports.links.jitInterpret, imports.link]).toEqual([0, 0, 1, 0, 1, 2]);
    expect(imports.globals.map((g) => g.name)).toEqual(["budget", "eip"]);
    expect(imports.functions.map((f) => f.name)).toEqual(["jitExit", "jitInterpret", "link"]);
  });

  it("leave out the core's helpers a region does not call", () => {
    // add $1, %eax; cmp $100, %eax; jne (back): no call into the core
    const { names } = translated([0x83, 0xc0, 0x01, 0x83, 0xf8, 0x64, 0x75, 0xf8, 0xf4]);
    expect(names).toContain("memory");
    expect(names).toContain("budget");
    expect(names.filter((n) => n.startsWith("jit"))).toEqual([]);
  });

  it("hold the helpers it does call: CPUID's exit", () => {
    // cpuid; jmp (back)
    const { names } = translated([0x0f, 0xa2, 0xeb, 0xfc]);
    expect(names).toContain("jitExit");
    expect(names).not.toContain("jitPortIo");
  });
});
