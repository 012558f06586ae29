// Files that ship with the package (build/core.wasm, guests/*.elf), located relative to the running
// module so they are found from any working directory. This module sits one level below the package
// root both as a source (src/package-files.ts, as vitest runs it) and bundled into dist/*.js.

export function packageFileUrl(path: string): URL {
  return new URL(`../${path}`, import.meta.url);
}
