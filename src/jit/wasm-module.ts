// A minimal WebAssembly binary writer for the compiling tier: one module per compiled region, with
// exported functions of type () -> () that enter its body (at one of its blocks), importing the
// core's memory, the core globals the block reads and writes, and the core functions it may call;
// and the one module that imports the core's function table (encodeLinkModule). Only the
// instructions the code generator uses are here.

export const enum Op {
  Block = 0x02, Loop = 0x03, If = 0x04, Else = 0x05, End = 0x0b, Br = 0x0c, BrIf = 0x0d, BrTable = 0x0e, Return = 0x0f,
  Call = 0x10, ReturnCall = 0x12, ReturnCallIndirect = 0x13, Drop = 0x1a, Select = 0x1b,
  LocalGet = 0x20, LocalSet = 0x21, LocalTee = 0x22, GlobalGet = 0x23, GlobalSet = 0x24,
  I32Load = 0x28, I64Load = 0x29, I32Load8S = 0x2c, I32Load8U = 0x2d, I32Load16S = 0x2e, I32Load16U = 0x2f,
  I32Store = 0x36, I32Store8 = 0x3a, I32Store16 = 0x3b,
  I32Const = 0x41, I64Const = 0x42,
  I32Eqz = 0x45, I32Eq = 0x46, I32Ne = 0x47, I32LtS = 0x48, I32LtU = 0x49, I32GtS = 0x4a, I32GtU = 0x4b,
  I32LeS = 0x4c, I32LeU = 0x4d, I32GeS = 0x4e, I32GeU = 0x4f,
  I32Popcnt = 0x69, I32Add = 0x6a, I32Sub = 0x6b, I32Mul = 0x6c, I32DivS = 0x6d, I32DivU = 0x6e, I32And = 0x71, I32Or = 0x72, I32Xor = 0x73,
  I32Shl = 0x74, I32ShrS = 0x75, I32ShrU = 0x76, I32Rotl = 0x77, I32Rotr = 0x78,
  I64Eq = 0x51, I64Ne = 0x52, I64Mul = 0x7e, I64DivU = 0x80, I64RemU = 0x82, I64Or = 0x84, I64Shl = 0x86, I64ShrS = 0x87, I64ShrU = 0x88,
  I32WrapI64 = 0xa7, I64ExtendI32S = 0xac, I64ExtendI32U = 0xad,
  I32Extend8S = 0xc0, I32Extend16S = 0xc1,
}

export const BLOCK_VOID = 0x40;
const I32 = 0x7f;
const I64 = 0x7e;
const FUNCREF = 0x70;

/** Where bytes are appended: a Code, or a number[] (a test's bytes). */
interface ByteSink { push(byte: number): unknown }

/** Appends `value` as unsigned LEB128, WebAssembly's encoding of sizes and indices. */
export function uleb(out: ByteSink, value: number): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(out: ByteSink, value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) { out.push(byte); return; }
    out.push(byte | 0x80);
  }
}

function name(out: Code, text: string): void {
  uleb(out, text.length);
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
}

function section(out: Code, id: number, body: ArrayLike<number>): void {
  out.push(id);
  uleb(out, body.length);
  out.append(body);
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * A function body under construction: typed helpers for the instructions we emit. Its bytes grow
 * in a Uint8Array that doubles when full: a number[] took 8 bytes an element, and its growth and
 * copies were most of what compiling a region allocated (and V8's scavenges then collected).
 */
export class Code {
  private buffer: Uint8Array<ArrayBuffer>;
  private size = 0;
  private localCount = 0;
  // Code emitted after the rest (later()): where it goes, and what emits it.
  private readonly holes: { at: number; emit: (c: Code) => void }[] = [];
  /** Structured blocks (block, loop, if) open at this point: labels are told apart by it (brTo). */
  depth = 0;

  private paramCount = 0;
  /** `capacity`: the bytes it holds before it first grows. */
  constructor(capacity = 64) { this.buffer = new Uint8Array(capacity); }
  local(): number { return this.localCount++; }
  /** An i32 parameter of the function: they come before its locals. */
  param(): number {
    if (this.localCount !== this.paramCount) throw new Error("a function's parameters come before its locals");
    this.paramCount++;
    return this.localCount++;
  }
  get locals(): number { return this.localCount; }
  get params(): number { return this.paramCount; }
  /** The bytes so far (a view, valid until more are emitted). */
  get bytes(): Uint8Array<ArrayBuffer> { return this.buffer.subarray(0, this.size); }

  push(byte: number): this {
    if (this.size === this.buffer.length) this.grow();
    this.buffer[this.size++] = byte;
    return this;
  }
  append(bytes: ArrayLike<number>): this {
    while (this.size + bytes.length > this.buffer.length) this.grow();
    this.buffer.set(bytes, this.size);
    this.size += bytes.length;
    return this;
  }
  private grow(): void {
    const bigger = new Uint8Array(2 * this.buffer.length);
    bigger.set(this.buffer);
    this.buffer = bigger;
  }

  op(...ops: Op[]): this { for (const op of ops) this.push(op); return this; }
  i32(value: number): this { this.push(Op.I32Const); sleb(this, value); return this; }
  /** An i64 constant in the int32 range. */
  i64(value: number): this { this.push(Op.I64Const); sleb(this, value); return this; }
  get(local: number): this { this.push(Op.LocalGet); uleb(this, local); return this; }
  set(local: number): this { this.push(Op.LocalSet); uleb(this, local); return this; }
  tee(local: number): this { this.push(Op.LocalTee); uleb(this, local); return this; }
  globalGet(index: number): this { this.push(Op.GlobalGet); uleb(this, index); return this; }
  globalSet(index: number): this { this.push(Op.GlobalSet); uleb(this, index); return this; }
  call(func: number): this { this.push(Op.Call); uleb(this, func); return this; }
  /** A tail call of function `func`. */
  tailCall(func: number): this { this.push(Op.ReturnCall); uleb(this, func); return this; }
  /** A load or store with alignment hint 0 and a constant offset. */
  mem(op: Op, offset: number): this { this.push(op); this.push(0); uleb(this, offset); return this; }
  ifThen(): this { this.push(Op.If); this.push(BLOCK_VOID); this.depth++; return this; }
  /** An if whose arms each leave an i32 (separated by orElse()). */
  ifI32(): this { this.push(Op.If); this.push(I32); this.depth++; return this; }
  orElse(): this { this.push(Op.Else); return this; }
  loop(): this { this.push(Op.Loop); this.push(BLOCK_VOID); this.depth++; return this; }
  block(): this { this.push(Op.Block); this.push(BLOCK_VOID); this.depth++; return this; }
  /** Branch to the `depth`-th enclosing block (0: the innermost): a loop's start, a block's end. */
  br(depth: number): this { this.push(Op.Br); uleb(this, depth); return this; }
  /** Branch to the block (loop) that was open at `depth` (the value of `depth` just after opening it). */
  brTo(depth: number): this { return this.br(this.depth - depth); }
  /** brTo(), if the value on the stack is not 0. */
  brIfTo(depth: number): this { this.push(Op.BrIf); uleb(this, this.depth - depth); return this; }
  /** Branch to the `targets[i]`-th enclosing block for the i on the stack, `otherwise` beyond them. */
  brTable(targets: readonly number[], otherwise: number): this {
    this.push(Op.BrTable);
    uleb(this, targets.length);
    for (const t of targets) uleb(this, t);
    uleb(this, otherwise);
    return this;
  }
  end(): this { this.push(Op.End); this.depth--; return this; }

  /**
   * Code that goes here but depends on what is emitted after it (a block's register loads, on the
   * registers the region turns out to use): `emit` writes it when finish() is called, into a Code
   * of its own, which must leave the block depth as it was and make no locals.
   */
  later(emit: (c: Code) => void): this { this.holes.push({ at: this.size, emit }); return this; }

  /** Fills the holes later() left, in order: the body is complete. */
  // (The holes' code is written one after another into one Code, `later`, and the two are then
  // interleaved by copying: a Code and a view per hole were a tenth of a region's translation.)
  finish(): void {
    if (this.holes.length === 0) return;
    const later = new Code(), ends: number[] = [];
    for (const hole of this.holes) {
      hole.emit(later);
      if (later.depth !== 0 || later.locals !== 0) throw new Error("code emitted later must close its blocks and make no locals");
      ends.push(later.size);
    }
    const bytes = new Uint8Array(this.size + later.size);
    let from = 0, to = 0, start = 0;
    this.holes.forEach((hole, i) => {
      to = copy(this.buffer, from, hole.at, bytes, to);
      to = copy(later.buffer, start, ends[i], bytes, to);
      from = hole.at;
      start = ends[i];
    });
    copy(this.buffer, from, this.size, bytes, to);
    this.buffer = bytes;
    this.size = bytes.length;
    this.holes.length = 0;
  }
}

/** Copies `from[start..end)` to `to` at `at`; returns where the copy ends there. */
function copy(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): number {
  for (let i = start; i < end; i++) to[at++] = from[i];
  return at;
}

/** A mutable global a module imports from module "core": i32 unless `i64`. */
export interface ImportedGlobal { name: string; i64?: boolean }

export interface ModuleSpec {
  globals: readonly ImportedGlobal[];
  functions: readonly { name: string; params: number; results: number }[]; // imported i32 functions
  body: Code; // of i32 parameters only (Code.param())
  /** The body's arguments for each exported () -> () function, `b${i}` for the i-th: each tail-calls the body with them. */
  entries: readonly (readonly number[])[];
}

/**
 * Encode a module with the given imports and body, exporting the functions that enter the body
 * (`entries`). (Into Codes, not number[]s: arrays of numbers took 8 bytes a byte and were a fifth of
 * what compiling a region allocated.)
 */
export function encodeModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  // types: 0 = () -> (), 1 = the body's, then one per imported function signature
  const types = new Code(256);
  const signatures = [{ params: 0, results: 0 }, { params: spec.body.params, results: 0 }, ...spec.functions];
  uleb(types, signatures.length);
  for (const s of signatures) {
    types.push(0x60);
    uleb(types, s.params);
    for (let i = 0; i < s.params; i++) types.push(I32);
    uleb(types, s.results);
    for (let i = 0; i < s.results; i++) types.push(I32);
  }

  const imports = new Code(512);
  uleb(imports, 1 + spec.globals.length + spec.functions.length);
  name(imports, "core"); name(imports, "memory"); imports.push(0x02).push(0x00).push(0x00); // memory, min 0
  for (const g of spec.globals) { name(imports, "core"); name(imports, g.name); imports.push(0x03).push(g.i64 ? I64 : I32).push(0x01); }
  spec.functions.forEach((f, i) => { name(imports, "core"); name(imports, f.name); imports.push(0x00); uleb(imports, i + 2); });

  // the body (type 1), then the entries (type 0), after the imported functions
  const body = spec.functions.length;
  const functions = new Code();
  uleb(functions, 1 + spec.entries.length);
  functions.push(1);
  for (let i = 0; i < spec.entries.length; i++) functions.push(0);
  const exports = new Code(256);
  uleb(exports, spec.entries.length);
  spec.entries.forEach((_, i) => { name(exports, `b${i}`); exports.push(0x00); uleb(exports, body + 1 + i); });

  // The code section: the body's size and locals, the body, then the entries.
  const declared = new Code(), locals = spec.body.locals - spec.body.params, bodyBytes = spec.body.bytes;
  if (locals > 0) { declared.push(1); uleb(declared, locals); declared.push(I32); } else declared.push(0);
  const head = new Code();
  uleb(head, 1 + spec.entries.length);
  uleb(head, declared.bytes.length + bodyBytes.length + 1); // + End
  head.append(declared.bytes);
  const tail = new Code();
  for (const args of spec.entries) {
    const entry = new Code().push(0); // no locals
    for (const a of args) entry.i32(a);
    const bytes = entry.tailCall(body).push(Op.End).bytes;
    uleb(tail, bytes.length);
    tail.append(bytes);
  }
  const sections = [types, imports, functions, exports].map((c) => c.bytes), start = head.bytes, end = tail.bytes;
  const out = new Code(sections.reduce((n, b) => n + b.length + 6, 64) + start.length + bodyBytes.length + end.length);
  out.append(MAGIC_AND_VERSION);
  [1, 2, 3, 7].forEach((id, i) => section(out, id, sections[i]));
  out.push(10);
  uleb(out, start.length + bodyBytes.length + 1 + end.length);
  return out.append(start).append(bodyBytes).push(Op.End).append(end).bytes;
}

/**
 * The module exporting `link: (slot) -> ()`, a tail call of the () -> () function in slot `slot`
 * of the imported table "core" "table": regions tail-call it to go on in another region
 * (translate.ts emitLink). Only this one instance imports the table: V8 keeps every instance that
 * imports a table alive as long as the table, so a table import in each region's module would
 * keep every region ever compiled (test/isolation/hostile-guests.test.ts).
 */
export function encodeLinkModule(): Uint8Array<ArrayBuffer> {
  const out = new Code().append(MAGIC_AND_VERSION);
  section(out, 1, [2, 0x60, 0, 0, 0x60, 1, I32, 0]); // 0: () -> (), 1: (i32) -> ()
  const imports = new Code().push(1);
  name(imports, "core"); name(imports, "table"); imports.append([0x01, FUNCREF, 0x00, 0x00]); // table 0, min 0
  section(out, 2, imports.bytes);
  section(out, 3, [1, 1]);
  const exports = new Code().push(1);
  name(exports, "link");
  exports.append([0x00, 0]);
  section(out, 7, exports.bytes);
  const body = [0, Op.LocalGet, 0, Op.ReturnCallIndirect, 0, 0, Op.End];
  section(out, 10, [1, body.length, ...body]);
  return out.bytes;
}
