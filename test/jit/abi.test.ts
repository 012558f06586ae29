// The core<->JIT contract (assembly/jit-abi.ts) is checked when a core is instantiated
// (src/core/core-exports.ts): a core built from other sources is refused at once, naming what
// differs, instead of failing when the first block compiles.
import { readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import * as abi from "../../assembly/jit-abi";
import { CORE_EXPORT_KINDS, checkCoreExports, CoreLoadError } from "../../src/core/core-exports";
import { bareCoreImports } from "../../src/core/core";

const module = new WebAssembly.Module(readFileSync(new URL("../../build/core.wasm", import.meta.url)));
const realExports = () => new WebAssembly.Instance(module, bareCoreImports(() => 0)).exports;

describe("the core<->JIT contract", () => {
  it("names every global and function a compiled block links to as a core export of that kind", () => {
    const kinds = CORE_EXPORT_KINDS as Record<string, unknown>;
    for (const name of abi.JIT_GLOBALS) expect(kinds[name], name).toBe("global");
    abi.JIT_FUNCTIONS.forEach((name, i) => expect(kinds[name], name).toEqual({ params: abi.JIT_FUNCTION_PARAMS[i] }));
    expect(abi.JIT_FUNCTION_PARAMS).toHaveLength(abi.JIT_FUNCTIONS.length);
  });

  it("imports each global with the core's type: i64 for JIT_I64_GLOBALS, i32 for the rest", () => {
    const exports = realExports();
    for (const name of abi.JIT_GLOBALS) {
      expect(typeof (exports[name] as WebAssembly.Global).value, name).toBe(abi.JIT_I64_GLOBALS.includes(name) ? "bigint" : "number");
    }
  });

  it("accepts build/core.wasm, whose numbers are this file's", () => {
    const core = checkCoreExports(realExports());
    expect((core as unknown as Record<string, WebAssembly.Global>).BLOCK_ENTRY_SIZE.value).toBe(abi.BLOCK_ENTRY_SIZE);
  });

  it("refuses a core built with another layout, naming the number", () => {
    const exports = { ...realExports(), BLOCK_ENTRY_SIZE: new WebAssembly.Global({ value: "i32" }, abi.BLOCK_ENTRY_SIZE + 8) };
    expect(() => checkCoreExports(exports)).toThrow(CoreLoadError);
    expect(() => checkCoreExports(exports)).toThrow(`BLOCK_ENTRY_SIZE is ${abi.BLOCK_ENTRY_SIZE + 8} in the core, ${abi.BLOCK_ENTRY_SIZE} here`);
  });

  it("refuses a core that renamed a global compiled blocks link to, or changed a helper's parameters", () => {
    const { lfSign: _renamed, ...withoutLfSign } = realExports();
    expect(() => checkCoreExports(withoutLfSign)).toThrow("lfSign is missing, not global");
    const exports = { ...realExports(), jitExit: (reason: number, length: number) => reason + length };
    expect(() => checkCoreExports(exports)).toThrow("jitExit is a function of 2 parameters, not a function of 4 parameters");
  });

  it("tells the user how to fix it, in one line", () => {
    const { eip: _gone, ...exports } = realExports();
    try {
      checkCoreExports(exports);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/^build\/core\.wasm does not match this VMM's sources \(run `npm run build:core`\): /);
      expect((error as Error).message).not.toContain("\n");
    }
  });
});
