// Type-checks and builds the browser demo (npm run build:web) into dist/web/, a static folder that works from any
// file server and any subfolder (every URL in it is relative): index.html; main.js, the page, and
// worker.js, the VM (esbuild bundles, minified, with source maps), each with the chunks that its
// dynamic imports load later (xterm.js, uPlot, the bench's exit loops); main.css (the page's styles
// with xterm.js's and uPlot's); core.wasm; and guests/, every guests/*.elf with manifest.json
// listing them with a line about each taken from the header comment of its source. Every file but
// the source maps also gets a brotli (.br) and a gzip (.gz) copy, which `npm run serve` (and a
// static host that looks for them) sends to browsers that accept them.

import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/web");

// esbuild does not check types: tsc does, against the DOM (tsconfig.web.json).
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.web.json")], { stdio: "inherit" });

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "guests"), { recursive: true });

/** Longest guest description on the page, in characters. */
const MAX_ABOUT = 240;

const common = {
  bundle: true,
  platform: "browser",
  format: "esm",
  target: ["chrome120", "firefox120", "safari17"],
  minify: true,
  sourcemap: "linked",
  // A dynamic import becomes a file of its own, named after its module; code two files share, a chunk.
  splitting: true,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  logLevel: "warning",
  // The core's loader reads a file with node:fs only when given a path; the worker passes bytes.
  external: ["node:*"],
};
// Two builds, so that the page and the worker share no chunk: each loads only its own code.
await build({ ...common, entryPoints: { main: join(root, "src/web/main.ts") }, outdir: out });
await build({ ...common, entryPoints: { worker: join(root, "src/web/worker.ts") }, outdir: out });
await build({ ...common, splitting: false, entryPoints: { main: join(root, "src/web/static/main.css") }, outdir: out });

copyFileSync(join(root, "src/web/static/index.html"), join(out, "index.html"));
const core = join(root, "build/core.wasm");
if (!existsSync(core)) throw new Error("build/core.wasm is missing: run `npm run build:core` first");
copyFileSync(core, join(out, "core.wasm"));

// A .bin is a boot sector (guests/realmode.bin), no Multiboot kernel: only a guest hypervisor's L2.
const guests = readdirSync(join(root, "guests"))
  .filter((file) => file.endsWith(".elf") || file.endsWith(".bin"))
  .sort()
  .map((file) => {
    copyFileSync(join(root, "guests", file), join(out, "guests", file));
    const name = file.replace(/\.(elf|bin)$/, "");
    const l2Only = file.endsWith(".bin") ? { l2Only: true } : {};
    return { name, file, about: describeGuest(name), bytes: statSync(join(root, "guests", file)).size, ...l2Only };
  });
writeFileSync(join(out, "guests/manifest.json"), `${JSON.stringify(guests, null, 2)}\n`);
precompress(out);

/** Writes FILE.br and FILE.gz beside every file in `dir` but source maps (only developer tools fetch those). */
function precompress(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) precompress(path);
    else if (!entry.name.endsWith(".map")) {
      const bytes = readFileSync(path);
      writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
      writeFileSync(`${path}.gz`, gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }));
    }
  }
}

/** The first sentence of the guest's source header ("name - what it does. ..."), if there is one. */
function describeGuest(name) {
  const candidates = [`${name}/${name}.c`, `${name}/main.c`, `${name}/${name}.S`, `${name}/boot.S`, `bench/${name}.c`, `bench/${name}.S`];
  for (const candidate of candidates) {
    const path = join(root, "guests", candidate);
    if (!existsSync(path)) continue;
    const comment = /\/\*([\s\S]*?)\*\//.exec(readFileSync(path, "utf8"))?.[1];
    if (!comment) continue;
    const text = comment.replace(/^\s*\*\s?/gm, " ").replace(/\s+/g, " ").trim();
    const about = text.replace(/^[\w.]+\s+-\s+/, "");
    // Up to the first full stop after a word, or to where a numbered list starts.
    const sentence = /^.*?(?:[a-z0-9)]\.(?=\s|$)|(?=:\s+\d+\.\s))/i.exec(about)?.[0] ?? about;
    if (sentence.length > MAX_ABOUT) return `${sentence.slice(0, sentence.lastIndexOf(" ", MAX_ABOUT))} …`;
    return sentence.endsWith(".") ? sentence : `${sentence}.`;
  }
  return "";
}
