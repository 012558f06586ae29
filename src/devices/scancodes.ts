// What a PC keyboard sends for each key: its scan code set 2 make code (what the keyboard itself
// speaks; the break code is F0 followed by the make code) and the set 1 code that the 8042
// controller's translation turns it into (break = make | 0x80). Keys with an E0 prefix keep it in
// both sets. Only the keys a terminal can type are listed, with the characters they produce
// unshifted and shifted on a US layout, so host text can be turned into key presses.

export interface Key {
  set2: number;
  set1: number;
  /** The key sends E0 before its code (cursor keys). */
  extended?: boolean;
}

const key = (set2: number, set1: number, extended = false): Key => ({ set2, set1, extended });

export const LEFT_SHIFT = key(0x12, 0x2a);
export const LEFT_CTRL = key(0x14, 0x1d);

/** Named keys (what a terminal escape sequence or a browser key name maps to). */
export const NAMED_KEYS: Record<string, Key> = {
  Enter: key(0x5a, 0x1c),
  Backspace: key(0x66, 0x0e),
  Tab: key(0x0d, 0x0f),
  Escape: key(0x76, 0x01),
  ArrowUp: key(0x75, 0x48, true),
  ArrowDown: key(0x72, 0x50, true),
  ArrowLeft: key(0x6b, 0x4b, true),
  ArrowRight: key(0x74, 0x4d, true),
  Home: key(0x6c, 0x47, true),
  End: key(0x69, 0x4f, true),
  Delete: key(0x71, 0x53, true),
};

// Keys that type characters: [unshifted, shifted, set 2, set 1].
const CHARACTER_KEYS: [string, string, number, number][] = [
  ["a", "A", 0x1c, 0x1e], ["b", "B", 0x32, 0x30], ["c", "C", 0x21, 0x2e], ["d", "D", 0x23, 0x20],
  ["e", "E", 0x24, 0x12], ["f", "F", 0x2b, 0x21], ["g", "G", 0x34, 0x22], ["h", "H", 0x33, 0x23],
  ["i", "I", 0x43, 0x17], ["j", "J", 0x3b, 0x24], ["k", "K", 0x42, 0x25], ["l", "L", 0x4b, 0x26],
  ["m", "M", 0x3a, 0x32], ["n", "N", 0x31, 0x31], ["o", "O", 0x44, 0x18], ["p", "P", 0x4d, 0x19],
  ["q", "Q", 0x15, 0x10], ["r", "R", 0x2d, 0x13], ["s", "S", 0x1b, 0x1f], ["t", "T", 0x2c, 0x14],
  ["u", "U", 0x3c, 0x16], ["v", "V", 0x2a, 0x2f], ["w", "W", 0x1d, 0x11], ["x", "X", 0x22, 0x2d],
  ["y", "Y", 0x35, 0x15], ["z", "Z", 0x1a, 0x2c],
  ["1", "!", 0x16, 0x02], ["2", "@", 0x1e, 0x03], ["3", "#", 0x26, 0x04], ["4", "$", 0x25, 0x05],
  ["5", "%", 0x2e, 0x06], ["6", "^", 0x36, 0x07], ["7", "&", 0x3d, 0x08], ["8", "*", 0x3e, 0x09],
  ["9", "(", 0x46, 0x0a], ["0", ")", 0x45, 0x0b],
  ["`", "~", 0x0e, 0x29], ["-", "_", 0x4e, 0x0c], ["=", "+", 0x55, 0x0d], ["[", "{", 0x54, 0x1a],
  ["]", "}", 0x5b, 0x1b], ["\\", "|", 0x5d, 0x2b], [";", ":", 0x4c, 0x27], ["'", '"', 0x52, 0x28],
  [",", "<", 0x41, 0x33], [".", ">", 0x49, 0x34], ["/", "?", 0x4a, 0x35], [" ", " ", 0x29, 0x39],
];

/** A key press that types one character: the key, with Shift or Ctrl held. */
export interface Keystroke {
  key: Key;
  shift: boolean;
  ctrl: boolean;
}

const BY_CHARACTER = new Map<string, Keystroke>();
for (const [plain, shifted, set2, set1] of CHARACTER_KEYS) {
  BY_CHARACTER.set(shifted, { key: key(set2, set1), shift: shifted !== plain, ctrl: false });
  BY_CHARACTER.set(plain, { key: key(set2, set1), shift: false, ctrl: false });
}

/** The keystroke a terminal's byte stands for: printable ASCII, Enter, Backspace, Tab, Escape, Ctrl+letter. */
export function keystrokeFor(byte: number): Keystroke | undefined {
  if (byte === 0x0d || byte === 0x0a) return { key: NAMED_KEYS.Enter, shift: false, ctrl: false };
  if (byte === 0x7f || byte === 0x08) return { key: NAMED_KEYS.Backspace, shift: false, ctrl: false };
  if (byte === 0x09) return { key: NAMED_KEYS.Tab, shift: false, ctrl: false };
  if (byte === 0x1b) return { key: NAMED_KEYS.Escape, shift: false, ctrl: false };
  if (byte >= 0x01 && byte <= 0x1a) return { ...BY_CHARACTER.get(String.fromCharCode(0x60 + byte))!, ctrl: true };
  return BY_CHARACTER.get(String.fromCharCode(byte));
}

/** The 8042's set 2 to set 1 translation, for the codes of the keys above. */
export const SET2_TO_SET1 = new Map<number, number>(
  [...[...BY_CHARACTER.values()].map((stroke) => stroke.key), ...Object.values(NAMED_KEYS), LEFT_SHIFT, LEFT_CTRL].map((k) => [k.set2, k.set1]),
);
