// Builds the TypeScript half (npm run build:ts): esbuild bundles the CLI (dist/cli.js, an
// executable node script), the embedding API (dist/index.js) and the fuzzer (dist/fuzz.js), then
// tsc type-checks src/ and emits the API's declarations into dist/types. The bundles find
// build/core.wasm relative to themselves (src/package-files.ts), so dist/ must stay beside build/.

import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Runtime dependencies (commander) are installed beside the package; keep them out of the bundle.
  packages: "external",
  sourcemap: true,
  // Folds the constants imported from assembly/vmcs-layout.ts into the code that uses them
  // (vmcs.get(X_QUALIFICATION) becomes vmcs.get(644)): left as module variables, V8 loads each
  // one at every use, on every VM exit's path. Names stay as written (no minifyIdentifiers).
  minifySyntax: true,
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: [join(root, "src/cli/main.ts")],
  outfile: join(dist, "cli.js"),
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync(join(dist, "cli.js"), 0o755);

await build({ ...common, entryPoints: [join(root, "src/index.ts")], outfile: join(dist, "index.js") });

// The fuzzer (npm run fuzz): its worker threads run the same file.
await build({ ...common, entryPoints: [join(root, "src/fuzz/main.ts")], outfile: join(dist, "fuzz.js") });

// Declarations: tsc mirrors the source tree (src/ and the shared assembly/vmcs-layout.ts) under
// dist/types; package.json's "types" points at dist/types/index.d.ts, which re-exports src's.
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json"), "--emitDeclarationOnly"], { stdio: "inherit" });
mkdirSync(join(dist, "types"), { recursive: true });
writeFileSync(join(dist, "types/index.d.ts"), 'export * from "./src/index.js";\n');
