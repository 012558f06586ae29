/** A benchmark guest that does not exit with 0 makes the benchmark meaningless. */
export class BenchGuestError extends Error {}
