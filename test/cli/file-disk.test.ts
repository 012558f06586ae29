import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/exit-status.js";
import { FileDisk } from "../../src/cli/file-disk.js";

const scratch = mkdtempSync(join(tmpdir(), "wasmvisor-disk-"));

function image(name: string, bytes: number): string {
  const path = join(scratch, name);
  writeFileSync(path, new Uint8Array(bytes).map((_, i) => i >> 9));
  return path;
}

describe("FileDisk", () => {
  it("reads and writes whole sectors at their place in the file, which has them at once", () => {
    const path = image("rw.img", 8 * 512 + 100);
    const disk = new FileDisk(path, false);
    expect(disk.sectors).toBe(8); // the partial sector at the end is ignored
    const two = new Uint8Array(1024);
    disk.read(3, two);
    expect([two[0], two[1023]]).toEqual([3, 4]);
    disk.write(6, new Uint8Array(512).fill(0xee));
    expect(readFileSync(path)[6 * 512]).toBe(0xee); // before flush or close
    disk.close();
    disk.close();
  });

  it("opens a read-only image without write access", () => {
    const disk = new FileDisk(image("ro.img", 1024), true);
    expect(disk.readOnly).toBe(true);
    disk.flush();
    disk.close();
  });

  it("reports a missing or empty image as bad input", () => {
    expect(() => new FileDisk(join(scratch, "none.img"), false)).toThrow(new UsageError(`cannot open disk image ${join(scratch, "none.img")}: no such file`));
    expect(() => new FileDisk(image("tiny.img", 100), false)).toThrow(/smaller than one 512-byte sector/);
  });
});
