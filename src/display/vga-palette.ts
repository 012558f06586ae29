// What the VGA text screen looks like: the 16 colours of the default VGA palette (attribute bits
// 0-3 foreground, 4-7 background; colour 6 is brown, not dark yellow) and code page 437, the PC's
// character set, as Unicode, so a cell's byte can be shown by a terminal or a browser.

/** RGB of the 16 text-mode colours, in attribute order (blue = 1, green = 2, red = 4, bright = 8). */
export const VGA_COLOURS: readonly (readonly [number, number, number])[] = [
  [0x00, 0x00, 0x00], [0x00, 0x00, 0xaa], [0x00, 0xaa, 0x00], [0x00, 0xaa, 0xaa],
  [0xaa, 0x00, 0x00], [0xaa, 0x00, 0xaa], [0xaa, 0x55, 0x00], [0xaa, 0xaa, 0xaa],
  [0x55, 0x55, 0x55], [0x55, 0x55, 0xff], [0x55, 0xff, 0x55], [0x55, 0xff, 0xff],
  [0xff, 0x55, 0x55], [0xff, 0x55, 0xff], [0xff, 0xff, 0x55], [0xff, 0xff, 0xff],
];

/** Code page 437 in Unicode: 0x00 blank, 0x01-0x1F and 0x7F the PC's graphic symbols, 0xFF NBSP. */
export const CP437 = [
  ..." ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼",
  ..." !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂",
  ..."ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»",
  ..."░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀",
  ..."αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0",
];

/** Foreground and background colour indexes of an attribute byte. */
export function cellColours(attribute: number, blink: boolean): { fg: number; bg: number } {
  return { fg: attribute & 0x0f, bg: blink ? (attribute >> 4) & 0x07 : attribute >> 4 };
}
