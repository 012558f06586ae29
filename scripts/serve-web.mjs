// Serves the browser demo (npm run serve): dist/web/ over HTTP on localhost, with the MIME types
// browsers insist on (application/wasm for streaming compilation, text/javascript for module
// scripts) and no caching, so a rebuild shows on reload. Every response carries the two headers
// that make the page cross-origin isolated (COOP same-origin, COEP require-corp; the page loads
// nothing from elsewhere), which gives the worker's performance.now() its fine resolution (5 µs
// in Chromium instead of 100 µs) for the exit timing. A file is sent compressed when the build
// made a brotli (FILE.br) or gzip (FILE.gz) copy of it and the browser accepts that encoding.
// `--port N` (default 8080, 0 = any free port) and `--prefix /some/path/` serve it from a
// subfolder, as a static host might. The e2e test imports serve() and does the same.

import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".elf": "application/octet-stream",
};

/** Cross-origin isolation: https://web.dev/articles/coop-coep */
const ISOLATION = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };

/** The precompressed copies the web build writes, in order of preference. */
const ENCODINGS = [
  { name: "br", suffix: ".br" },
  { name: "gzip", suffix: ".gz" },
];

/** Whether an Accept-Encoding header allows `coding` (listed, or "*", and not with q=0). */
export function accepts(header = "", coding) {
  const quality = new Map(
    header.split(",").map((item) => {
      const [name, ...params] = item.split(";").map((part) => part.trim().toLowerCase());
      const q = params.find((param) => param.startsWith("q="));
      return [name, q === undefined ? 1 : Number(q.slice(2))];
    }),
  );
  const q = quality.get(coding) ?? quality.get("*") ?? 0;
  return q > 0;
}

/** Starts serving `root` under `prefix`; resolves to the server and the page's address. */
export function serve(root, { port = 8080, host = "127.0.0.1", prefix = "/" } = {}) {
  const base = prefix.endsWith("/") ? prefix : `${prefix}/`;
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    if (!path.startsWith(base)) {
      response.writeHead(path === "/" ? 302 : 404, path === "/" ? { location: base } : {}).end();
      return;
    }
    let file = normalize(join(root, path.slice(base.length)));
    if (file !== root && !file.startsWith(root + sep)) return void response.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) return void response.writeHead(404).end("not found");
    const encoding = ENCODINGS.find(({ name, suffix }) => accepts(request.headers["accept-encoding"], name) && existsSync(file + suffix));
    const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store", vary: "accept-encoding", ...ISOLATION };
    if (encoding) headers["content-encoding"] = encoding.name;
    response.writeHead(200, headers);
    createReadStream(encoding ? file + encoding.suffix : file).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({ server, url: `http://${host === "127.0.0.1" ? "localhost" : host}:${actual}${base}` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const option = (name, fallback) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : fallback;
  };
  const root = fileURLToPath(new URL("../dist/web", import.meta.url));
  if (!existsSync(join(root, "index.html"))) {
    console.error("dist/web/ is missing: run `npm run build:web` first");
    process.exit(2);
  }
  const { url } = await serve(root, { port: Number(option("--port", process.env.PORT ?? 8080)), prefix: option("--prefix", "/") });
  console.log(`wasmvisor demo: ${url}  (Ctrl-C to stop)`);
}
