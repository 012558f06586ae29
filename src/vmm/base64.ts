// Bytes as base64 text and back, for binary data inside a state file's JSON (the std-VGA's video
// memory): btoa and atob exist in Node and in browsers, and take strings of byte-sized characters.

import { SavedStateError } from "../devices/saved-values.js";

const CHUNK = 0x8000; // String.fromCharCode takes its arguments on the stack

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += CHUNK) text += String.fromCharCode(...bytes.subarray(at, at + CHUNK));
  return btoa(text);
}

/** Throws SavedStateError naming `what` if `text` is not base64. */
export function fromBase64(text: string, what: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new SavedStateError(`corrupt state file: ${what} is not base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
