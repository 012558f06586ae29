// Guest RAM sizes a user may ask for, and the one parser for them: the CLI's --mem and the browser
// demo's RAM field and `mem=` links read the same text the same way and say the same thing when
// it is wrong. Free of Node and of the VM, so the page can use it without loading either.

export const DEFAULT_MEMORY_MIB = 32;
/** Smallest RAM that holds a kernel at the conventional 1 MiB plus its boot information. */
export const MIN_MEMORY_MIB = 2;
/** Guest-physical addresses must fit the core's i32 translateLinear() answer. */
export const MAX_MEMORY_MIB = 2048;

/** What a good size looks like, for messages: "a whole number of MiB from 2 to 2048". */
export const MEMORY_SIZE_RULE = `a whole number of MiB from ${MIN_MEMORY_MIB} to ${MAX_MEMORY_MIB}`;

/** The size `text` names in MiB (digits only: no sign, exponent or fraction), or undefined if it is not a good one. */
export function parseMemoryMiB(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const mib = Number(trimmed);
  return mib >= MIN_MEMORY_MIB && mib <= MAX_MEMORY_MIB ? mib : undefined;
}
