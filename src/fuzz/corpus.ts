// Saved fuzz cases: NAME.bin holds the code, NAME.json the rest of the case (fuzz-case.ts) with the
// problem it showed and how it was found. Problems are keyed by their text with the numbers taken
// out, so one bug found again and again is saved once; test/fuzz/corpus.test.ts replays every
// saved case as a regression test.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { CaseSetup, FuzzCase } from "./fuzz-case.js";

export interface SavedCase {
  problem: string;
  found: string;
  setup: CaseSetup;
}

/** The problem with its numbers replaced, so that the same bug at other addresses matches. */
export function problemKey(problem: string): string {
  return problem.split("\n")[0].replace(/0x[0-9a-f]+|\d+/g, "N").slice(0, 160);
}

function slug(problem: string): string {
  return problemKey(problem).toLowerCase().replace(/[^a-z]+/g, "-").replace(/^-|-$/g, "").slice(0, 48);
}

/** The .json files of a corpus directory, or the files given themselves. */
export function corpusFiles(paths: string[]): string[] {
  return paths.flatMap((p) => statSync(p).isDirectory()
    ? readdirSync(p).filter((f) => f.endsWith(".json")).sort().map((f) => join(p, f))
    : [p]);
}

export function loadCase(jsonPath: string): { saved: SavedCase; fuzzCase: FuzzCase } {
  const saved = JSON.parse(readFileSync(jsonPath, "utf8")) as SavedCase;
  const code = new Uint8Array(readFileSync(jsonPath.replace(/\.json$/, ".bin")));
  return { saved, fuzzCase: { setup: saved.setup, code } };
}

/** Keys of the problems already in `dir`. */
export function savedProblemKeys(dir: string): Set<string> {
  if (!existsSync(dir)) return new Set();
  return new Set(corpusFiles([dir]).map((f) => problemKey((JSON.parse(readFileSync(f, "utf8")) as SavedCase).problem)));
}

/** Writes the case as DIR/NAME.bin and DIR/NAME.json; returns the .json path. */
export function saveCase(dir: string, c: FuzzCase, problem: string, found: string): string {
  mkdirSync(dir, { recursive: true });
  let name = slug(problem) || "case";
  for (let n = 2; existsSync(join(dir, `${name}.json`)); n++) name = `${slug(problem)}-${n}`;
  const saved: SavedCase = { problem, found, setup: c.setup };
  writeFileSync(join(dir, `${name}.bin`), c.code);
  // one line per innermost array: [offset, value] pairs stay readable
  const text = JSON.stringify(saved, null, 1).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_, inner: string) => `[${inner.replace(/\s+/g, " ")}]`);
  writeFileSync(join(dir, `${name}.json`), text + "\n");
  return join(dir, `${basename(name)}.json`);
}
