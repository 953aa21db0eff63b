// brat counts offsets in Unicode code points (it is written in Python); JavaScript strings,
// and so every Span, count UTF-16 code units. The two differ only after a character outside
// the Basic Multilingual Plane (an emoji, a rare kanji), so for most notes the conversion is
// the identity and costs nothing.

const SURROGATE = /[\uD800-\uDFFF]/;

/** Maps a code-point offset to a UTF-16 offset; -1 when it is past the end of the text. */
export function codePointToUtf16(text: string): (offset: number) => number {
  if (!SURROGATE.test(text)) return (offset) => (offset <= text.length ? offset : -1);
  const utf16AtCodePoint: number[] = [];
  let i = 0;
  for (const char of text) {
    utf16AtCodePoint.push(i);
    i += char.length;
  }
  utf16AtCodePoint.push(i);
  return (offset) => utf16AtCodePoint[offset] ?? -1;
}

/** Maps a UTF-16 offset (on a character boundary) to a code-point offset. */
export function utf16ToCodePoint(text: string): (offset: number) => number {
  if (!SURROGATE.test(text)) return (offset) => offset;
  const codePointAtUtf16 = new Array<number>(text.length + 1);
  let codePoints = 0;
  let i = 0;
  for (const char of text) {
    codePointAtUtf16[i] = codePoints;
    if (char.length === 2) codePointAtUtf16[i + 1] = codePoints; // a span never ends mid-pair
    i += char.length;
    codePoints++;
  }
  codePointAtUtf16[i] = codePoints;
  return (offset) => codePointAtUtf16[offset];
}
