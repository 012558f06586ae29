// Every case the fuzzer saved (test/fuzz/corpus/NAME.json + NAME.bin) is a regression test: it is
// replayed with the compiling tier off and on, under a watchdog, and must now pass every check the
// fuzzer makes (src/fuzz/check-case.ts).
import { readdirSync } from "node:fs";
import { describe, it, expect } from "vitest";
import { replayFile } from "./replay";

const dir = new URL("./corpus/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();

describe("fuzz corpus", () => {
  it.each(files)("%s", (file) => {
    const result = replayFile(new URL(file, dir).pathname);
    expect(result.output).toMatch(/^ok /);
  });
});
