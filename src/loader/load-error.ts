// The one error type the loader throws. Its message is a single line that names the file's
// problem precisely (offsets and addresses in hex), because the CLI prints it as-is and exits 2.

export class LoadError extends Error {
  override name = "LoadError";
}

export const hex = (value: number): string => `0x${(value >>> 0).toString(16)}`;
/** All 32 bits, as registers are shown: 0x00105000. */
export const hex8 = (value: number): string => `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
