// `npm run serve`'s content negotiation: a file goes out as its brotli or gzip copy when there is
// one and the request accepts that encoding (q=0 refuses it), with Vary: Accept-Encoding so that
// a cache keeps the encodings apart, and as it is otherwise; every response is cross-origin isolated.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accepts, serve } from "../../scripts/serve-web.mjs";

const TEXT = "console.log('the uncompressed file');\n".repeat(50);

/** GET `path` with `acceptEncoding`: the status, headers and body bytes as sent (not decoded). */
function get(url: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("npm run serve: compressed copies", () => {
  let dir: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wasmvisor-serve-"));
    writeFileSync(join(dir, "both.js"), TEXT);
    writeFileSync(join(dir, "both.js.br"), brotliCompressSync(TEXT));
    writeFileSync(join(dir, "both.js.gz"), gzipSync(TEXT));
    writeFileSync(join(dir, "gzip-only.wasm"), TEXT);
    writeFileSync(join(dir, "gzip-only.wasm.gz"), gzipSync(TEXT));
    writeFileSync(join(dir, "plain.json"), TEXT);
    ({ server, url } = await serve(dir, { port: 0, prefix: "/sub/" }));
  });

  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends brotli when accepted, else gzip, else the file, each saying so", async () => {
    const br = await get(`${url}both.js`, "gzip, deflate, br, zstd");
    expect(br.headers["content-encoding"]).toBe("br");
    expect(br.body).toEqual(brotliCompressSync(TEXT));
    expect(br.headers["content-type"]).toBe("text/javascript; charset=utf-8");

    const gzip = await get(`${url}both.js`, "gzip");
    expect(gzip.headers["content-encoding"]).toBe("gzip");
    expect(gzip.body).toEqual(gzipSync(TEXT));

    const plain = await get(`${url}both.js`);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe(TEXT);

    for (const response of [br, gzip, plain]) {
      expect(response.headers.vary).toBe("accept-encoding");
      expect(response.headers["cross-origin-opener-policy"]).toBe("same-origin");
      expect(response.headers["cross-origin-embedder-policy"]).toBe("require-corp");
    }
  });

  it("honours q=0 and falls back to what exists", async () => {
    expect((await get(`${url}both.js`, "br;q=0, gzip")).headers["content-encoding"]).toBe("gzip");
    expect((await get(`${url}both.js`, "*;q=0")).headers["content-encoding"]).toBeUndefined();
    expect((await get(`${url}gzip-only.wasm`, "br, gzip")).headers["content-encoding"]).toBe("gzip");
    expect((await get(`${url}gzip-only.wasm`, "br, gzip")).headers["content-type"]).toBe("application/wasm");
    const plain = await get(`${url}plain.json`, "br, gzip");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe(TEXT);
  });

  it("reads Accept-Encoding as HTTP defines it", () => {
    expect(accepts("gzip, deflate, br", "br")).toBe(true);
    expect(accepts("GZIP;Q=0.5", "gzip")).toBe(true);
    expect(accepts("br;q=0", "br")).toBe(false);
    expect(accepts("*", "br")).toBe(true);
    expect(accepts("*, br;q=0", "br")).toBe(false);
    expect(accepts("gzip", "br")).toBe(false);
    expect(accepts("", "gzip")).toBe(false);
    expect(accepts(undefined, "gzip")).toBe(false);
  });
});
