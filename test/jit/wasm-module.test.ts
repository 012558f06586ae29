// The WASM writer's code emitted later (Code.later(), finish()): the translator leaves places for
// the register moves it knows only once the region is translated (src/jit/translate.ts).
import { describe, expect, it } from "vitest";
import { Code, Op } from "../../src/jit/wasm-module";

describe("code emitted later", () => {
  it("goes where later() was called, each hole in order, whatever was emitted after", () => {
    const c = new Code();
    let value = 0;
    c.op(Op.Drop).later((h) => h.i32(value)).op(Op.Select).later((h) => h.op(Op.Return)).later(() => {}).op(Op.End);
    value = 5; // known only now
    c.finish();
    expect([...c.bytes]).toEqual([Op.Drop, Op.I32Const, 5, Op.Select, Op.Return, Op.End]);
  });

  it("may open and close blocks, but not leave one open or make locals", () => {
    const c = new Code();
    c.later((h) => h.block().end());
    c.finish();
    expect([...c.bytes]).toEqual([Op.Block, 0x40, Op.End]);
    expect(() => new Code().later((h) => h.block()).finish()).toThrow();
    expect(() => new Code().later((h) => h.local()).finish()).toThrow();
  });
});
