import { defineConfig } from "vitest/config";

// Two groups, run one after the other. The browser tests each drive a Chromium, and two of them
// compare timings with `wasmvisor bench`: run beside other test files on a 2-CPU machine they
// would be measuring the load. So the unit and CLI tests run first, in parallel, and then the
// browser tests one file at a time.
const E2E = "test/**/*.e2e.test.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [E2E], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "browser", include: [E2E], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
