// How much a decoded text reads like real writing rather than mojibake. Used to choose
// between legacy encodings, which all decode most byte strings without error.
//
// The signals, per non-ASCII character:
// - Kana is the strongest sign of Japanese: every sentence has particles (は, の, を), and
//   Western bytes misread as Shift_JIS or EUC-JP almost never land on kana.
// - Kanji glued inside a Latin word ("Diagn弩tico") is what an accented letter followed by
//   an ASCII byte becomes when misread as Shift_JIS: a penalty, not a bonus.
// - An accented Latin letter next to ASCII ("año", "ação") is plausible; a run of them
//   ("æ‚£è€…") is Japanese misread as windows-1252.
// - Private-use, control and replacement characters never appear in real notes.
// ASCII scores nothing: it reads the same in every candidate.

const Weight = {
  Kana: 2,
  Kanji: 1,
  LatinLetter: 1,
  CommonSymbol: 0.5,
  Neutral: 0,
  Misplaced: -1,
  RareSymbol: -2,
  Impossible: -5,
} as const;

export function plausibility(text: string): number {
  let score = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    score += weight(c, text.charCodeAt(i - 1), text.charCodeAt(i + 1));
  }
  return score;
}

function weight(c: number, previous: number, next: number): number {
  if (isKana(c)) return Weight.Kana;
  if (isKanji(c) || isJapanesePunctuation(c)) {
    return isAsciiLetter(previous) && isAsciiLetter(next) ? Weight.Misplaced : Weight.Kanji;
  }
  if (isHalfwidthKatakana(c)) return Weight.Neutral;
  if (c <= 0x9f || (c >= 0xe000 && c <= 0xf8ff) || c === 0xfffd) return Weight.Impossible;
  if (isLatinLetter(c)) {
    return isAscii(previous) || isAscii(next) ? Weight.LatinLetter : Weight.Misplaced;
  }
  if (RARE_SYMBOLS.has(c)) return Weight.RareSymbol;
  if (COMMON_SYMBOLS.has(c)) return isAscii(previous) || isAscii(next) ? Weight.CommonSymbol : Weight.Misplaced;
  if (c >= 0x2000 && c <= 0x2bff) return Weight.Neutral; // arrows, ※, ○, ●: common in Japanese notes
  return Weight.RareSymbol;
}

/** Symbols that Western clinical notes really use: 38 °C, 5 µg, ±, m², «», ¿?, ¡!, nº. */
const COMMON_SYMBOLS = new Set([..."°µ±²³«»¿¡·ªº§–—‘’“”•…€"].map((s) => s.charCodeAt(0)));

/**
 * windows-1252 punctuation that Western notes almost never use, but that Shift_JIS lead
 * bytes become when misread (0x82 "‚" leads every hiragana, 0x83 "ƒ" every katakana).
 */
const RARE_SYMBOLS = new Set([..."‚„†‡‰‹›™ƒˆ˜"].map((s) => s.charCodeAt(0)));

const isAscii = (c: number) => c < 0x80 || Number.isNaN(c); // NaN: before the start or after the end
const isAsciiLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isKana = (c: number) => c >= 0x3041 && c <= 0x30ff;
const isKanji = (c: number) => (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf);
const isJapanesePunctuation = (c: number) =>
  (c >= 0x3000 && c <= 0x303f) || (c >= 0xff01 && c <= 0xff5e); // 。、「」 and full-width ASCII
const isHalfwidthKatakana = (c: number) => c >= 0xff61 && c <= 0xff9f;
/** Latin-1 letters (not × ÷) and Latin Extended-A: the accented letters of European languages. */
const isLatinLetter = (c: number) => c >= 0xc0 && c <= 0x17f && c !== 0xd7 && c !== 0xf7;
