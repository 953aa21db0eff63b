// Checks that an encoding's offsets are honest, for any tokenizer.json: each token covers
// exactly the characters its text came from. "Exactly" is tested from the token's side
// (the covered text, normalized as the tokenizer normalizes, holds the token's text) and
// from the range's side (dropping the first or last character of the range loses it), so
// a range that is too narrow or too wide both fail. Used by the tests of real Hub files.

import type { EncodedText, TextTokenizer } from "../../../src/core/text/tokenizer.ts";

export interface OffsetCheckOptions {
  tokenizer: TextTokenizer;
  /** The tokenizer's own normalizer as a string function (identity when it has none). */
  normalize: (text: string) => string;
  /** Token strings that stand for unknown text ("[UNK]", "<unk>"). */
  unknown: string;
}

/** Every problem found, as readable lines; an honest encoding gives []. */
export function offsetProblems(text: string, encoded: EncodedText, options: OffsetCheckOptions): string[] {
  const problems: string[] = [];
  const { tokenizer } = options;
  const n = encoded.ids.length;
  let lastStart = 0;
  let seenText = false;
  for (let i = 0; i < n; i++) {
    const [start, end] = encoded.offsets[i];
    const token = tokenizer.idToToken(encoded.ids[i]) ?? `#${encoded.ids[i]}`;
    const where = `token ${i} ${JSON.stringify(token)} at [${start}, ${end}] ${JSON.stringify(text.slice(start, end))}`;
    if (!(start >= 0 && start <= end && end <= text.length)) {
      problems.push(`${where}: outside the text (length ${text.length})`);
      continue;
    }
    if (splitsSurrogatePair(text, start) || splitsSurrogatePair(text, end)) problems.push(`${where}: splits a surrogate pair`);
    if (encoded.special[i]) {
      // [CLS] / <s> before the text sit at 0; [SEP] / </s> after it at the end.
      const at = !seenText && i < tokenizer.prefixIds.length ? 0 : text.length;
      if (start !== at || end !== at) problems.push(`${where}: a special token must sit at [${at}, ${at}]`);
      if (encoded.wordIds[i] !== null) problems.push(`${where}: a special token has a word id`);
      continue;
    }
    seenText = true;
    if (start < lastStart) problems.push(`${where}: starts before the previous token (${lastStart})`);
    lastStart = start;
    const problem = contentProblem(text, start, end, token, options);
    if (problem) problems.push(`${where}: ${problem}`);
  }
  problems.push(...uncoveredProblems(text, encoded, options));
  return problems;
}

/** Why the range does not hold exactly the token's text, or null when it does. */
function contentProblem(text: string, start: number, end: number, token: string, options: OffsetCheckOptions): string | null {
  const covered = text.slice(start, end);
  const family = options.tokenizer.family;
  // An added token written in the text ("[MASK]", "<mask>") covers itself.
  if (covered === token) return null;
  // Only a token that stands for whitespace covers whitespace; a word's range ends on text.
  if (covered.trim() !== "" && covered !== covered.trim()) return "has whitespace at its ends";
  if (token === options.unknown) return covered === "" ? "an unknown token must cover text" : null;
  if (family === "bpe") return byteLevelProblem(covered, token, options.normalize);
  const tokenText = family === "wordpiece" ? withoutPrefix(token, "##") : token.replace(/^▁/, "").replaceAll("▁", " ");
  const content = tokenText.replaceAll("ς", "σ");
  if (content === "") {
    // A lone "▁": the whitespace it stands for, or nothing where it was prepended.
    return covered.trim() === "" ? null : "a lone marker must cover only whitespace (or nothing)";
  }
  const normalized = stripSpaces(options.normalize(covered), family);
  if (family === "wordpiece") {
    // WordPiece never splits a character: the normalized range is the token's text.
    return normalized === content ? null : `normalizes to ${JSON.stringify(normalized)}, not ${JSON.stringify(content)}`;
  }
  // Unigram may split one character's normalization ("ⅷ" → "vii" + "i"): the token's text
  // lies inside the normalized range, and no narrower range would hold it.
  if (!normalized.includes(content)) return `normalizes to ${JSON.stringify(normalized)}, which lacks ${JSON.stringify(content)}`;
  return minimalityProblem(covered, (s) => stripSpaces(options.normalize(s), family).includes(content));
}

/**
 * Byte-level BPE: the token's bytes lie in the range's UTF-8 bytes; its "Ġ" stands for the
 * space before a word, which the range leaves out, unless the token is whitespace only.
 */
function byteLevelProblem(covered: string, token: string, normalize: (s: string) => string): string | null {
  const tokenBytes = byteLevelBytes(token);
  if (!tokenBytes) return "not a byte-level token";
  let from = 0;
  if (covered.trim() !== "") while (from < tokenBytes.length && tokenBytes[from] === 0x20) from++;
  const content = tokenBytes.subarray(from);
  const holds = (s: string) => indexOfBytes(new TextEncoder().encode(normalize(s)), content) >= 0;
  if (!holds(covered)) return `does not hold the token's bytes [${[...content].join(", ")}]`;
  return minimalityProblem(covered, holds);
}

/** Dropping the first or the last character (with its combining marks) must lose the token. */
function minimalityProblem(covered: string, holds: (s: string) => boolean): string | null {
  const units = graphemeLikeUnits(covered);
  if (units.length < 2) return null;
  if (holds(units.slice(1).join(""))) return `too wide: still holds the token without ${JSON.stringify(units[0])}`;
  if (holds(units.slice(0, -1).join(""))) return `too wide: still holds the token without ${JSON.stringify(units.at(-1))}`;
  return null;
}

/** Characters that are neither whitespace nor deleted by the normalizer belong to some token. */
function uncoveredProblems(text: string, encoded: EncodedText, options: OffsetCheckOptions): string[] {
  const covered = new Uint8Array(text.length);
  encoded.offsets.forEach(([s, t], i) => {
    if (!encoded.special[i]) covered.fill(1, s, t);
  });
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    if (!covered[i] && !/\s/.test(ch) && options.normalize(ch).trim() !== "" && !/^\p{M}$/u.test(ch)) {
      out.push(`character ${JSON.stringify(ch)} at ${i} belongs to no token`);
    }
    i += ch.length;
  }
  return out;
}

function splitsSurrogatePair(text: string, at: number): boolean {
  if (at <= 0 || at >= text.length) return false;
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

function withoutPrefix(token: string, prefix: string): string {
  return token.length > prefix.length && token.startsWith(prefix) ? token.slice(prefix.length) : token;
}

/**
 * BertNormalizer pads CJK characters with spaces; no WordPiece or Unigram token holds a
 * space. A lone "Σ" lowercases to "σ", but to "ς" at the end of a word: the range alone
 * lacks that context, so the two count as one.
 */
function stripSpaces(normalized: string, family: string): string {
  const text = normalized.replaceAll("ς", "σ");
  return family === "wordpiece" ? text.replace(/\s+/g, "") : text.trim();
}

/** Code points, each with the combining marks that follow it. */
function graphemeLikeUnits(text: string): string[] {
  const units: string[] = [];
  for (const ch of text) {
    if (units.length > 0 && /^\p{M}$/u.test(ch)) units[units.length - 1] += ch;
    else units.push(ch);
  }
  return units;
}

/** GPT-2's byte ↔ character table: printable bytes stand for themselves, the rest shift to U+0100… */
const BYTE_OF_CHAR: Map<string, number> = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCodePoint(printable(b) ? b : 256 + shifted++), b);
  return map;
})();

function byteLevelBytes(token: string): Uint8Array | null {
  const bytes: number[] = [];
  for (const ch of token) {
    const b = BYTE_OF_CHAR.get(ch);
    if (b === undefined) return null;
    bytes.push(b);
  }
  return new Uint8Array(bytes);
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
