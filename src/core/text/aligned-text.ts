// A string that remembers where each of its UTF-16 code units came from in the original
// note. Normalizers and pre-tokenizers rewrite text (lowercase, NFD, "▁" for spaces, bytes
// as characters); every rewrite here carries the alignment along, so a token found in the
// rewritten text can be mapped back to exact character offsets in the note.
//
// Rules every operation keeps:
// - A unit produced from source units i..j gets the union of their ranges; so "é" → "e" + "◌́"
//   gives both units the range of "é", and one emoji turned into four byte characters gives
//   all four the emoji's two code units.
// - A unit inserted from nothing (a prepended "▁" or " ") gets a zero-width range at the
//   place it was inserted.
// - A source unit that is deleted (a control character, a lone combining mark that could not
//   be attached to a base) belongs to no output unit.

export interface AlignedText {
  text: string;
  /** For each code unit of `text`: start of its source range in the original note. */
  starts: number[];
  /** For each code unit of `text`: end (exclusive) of its source range. */
  ends: number[];
  /** Where in the original an empty text sits, and where inserted units at the start go. */
  base: number;
}

/** The original text itself (or a range of it), every unit mapped to itself. */
export function alignedOriginal(note: string, from = 0, to = note.length): AlignedText {
  const starts = new Array<number>(to - from);
  const ends = new Array<number>(to - from);
  for (let i = from; i < to; i++) {
    starts[i - from] = i;
    ends[i - from] = i + 1;
  }
  return { text: note.slice(from, to), starts, ends, base: from };
}

export function sliceAligned(a: AlignedText, from: number, to: number): AlignedText {
  const base = from < a.text.length ? a.starts[from] : from > 0 ? a.ends[from - 1] : a.base;
  return {
    text: a.text.slice(from, to),
    starts: a.starts.slice(from, to),
    ends: a.ends.slice(from, to),
    base,
  };
}

/** Builds an aligned text piece by piece. */
class AlignedBuilder {
  private parts: string[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  constructor(private readonly base: number) {}

  /** Append `output`, all of whose units come from source units [from, to) of `a`. */
  pushFrom(a: AlignedText, from: number, to: number, output: string): void {
    if (output.length === 0) return;
    let start: number;
    let end: number;
    if (from < to) {
      start = Infinity;
      end = -Infinity;
      for (let i = from; i < to; i++) {
        if (a.starts[i] < start) start = a.starts[i];
        if (a.ends[i] > end) end = a.ends[i];
      }
    } else {
      start = end = from < a.text.length ? a.starts[from] : from > 0 ? a.ends[from - 1] : a.base;
    }
    this.parts.push(output);
    for (let k = 0; k < output.length; k++) {
      this.starts.push(start);
      this.ends.push(end);
    }
  }

  /** Append source units [from, to) of `a` unchanged. */
  copy(a: AlignedText, from: number, to: number): void {
    if (from >= to) return;
    this.parts.push(a.text.slice(from, to));
    for (let i = from; i < to; i++) {
      this.starts.push(a.starts[i]);
      this.ends.push(a.ends[i]);
    }
  }

  build(): AlignedText {
    return { text: this.parts.join(""), starts: this.starts, ends: this.ends, base: this.base };
  }
}

const COMBINING_MARK = /^\p{M}$/u;

/**
 * Applies a string function `f` (a normalizer) while keeping the alignment.
 *
 * `f` is applied to small chunks: a code point plus the combining marks after it that `f`
 * deletes (so a stripped accent stays with its letter), grown while `f` of the chunk and the
 * next code point differs from the two done apart (NFC composing, a half-width voiced mark).
 * A combining mark that `f` keeps is a chunk of its own: a pre-tokenizer may put it in
 * another token than its base. Each chunk's output maps to the whole chunk. The joined
 * chunks must equal `f(text)`, so the text always comes out exactly as the library makes
 * it; when chunking cannot reproduce it, coarser chunks are used (every mark with its base,
 * for a mark that NFKC reorders before kept ones; then runs between whitespace; then the
 * whole text): offsets get wider, never wrong.
 */
export function mapAligned(a: AlignedText, f: (text: string) => string): AlignedText {
  const whole = f(a.text);
  if (whole === a.text) return a;
  const candidates = [
    () => chunkByInteraction(a.text, f, false),
    () => chunkByInteraction(a.text, f, true),
    () => chunkByWhitespace(a.text),
    () => [0, a.text.length],
  ];
  for (const candidate of candidates) {
    const bounds = candidate();
    const built = applyByChunks(a, f, bounds);
    if (built.text === whole) return built;
  }
  // Not reachable: the single chunk is f(text) itself.
  throw new Error("mapAligned: f is not deterministic");
}

function applyByChunks(a: AlignedText, f: (text: string) => string, bounds: number[]): AlignedText {
  const out = new AlignedBuilder(a.base);
  for (let k = 0; k + 1 < bounds.length; k++) {
    const from = bounds[k];
    const to = bounds[k + 1];
    const mapped = f(a.text.slice(from, to));
    const units = caseContextUnits(a.text, from, to, mapped, f);
    if (units) {
      for (const unit of units) out.pushFrom(a, unit.from, unit.to, unit.output);
    } else {
      out.pushFrom(a, from, to, mapped);
    }
  }
  return out.build();
}

/**
 * A chunk whose output is its characters' own outputs with only their case changed by
 * context (final sigma: "ΟΔΟΣ" → "οδος", where "Σ" alone gives "σ"; the context can reach
 * across punctuation, so such chunks are long) is split back into one output per character
 * (a code point and its combining marks). Null when the chunk is not such a chunk.
 */
function caseContextUnits(
  text: string,
  from: number,
  to: number,
  mapped: string,
  f: (text: string) => string,
): { from: number; to: number; output: string }[] | null {
  const units: { from: number; to: number; output: string }[] = [];
  let at = 0;
  let i = from;
  while (i < to) {
    let end = i + (text.codePointAt(i)! > 0xffff ? 2 : 1);
    while (end < to && COMBINING_MARK.test(String.fromCodePoint(text.codePointAt(end)!))) end++;
    const own = f(text.slice(i, end));
    const output = mapped.slice(at, at + own.length);
    if (output.length !== own.length || !sameUpToCase(output, own)) return null;
    units.push({ from: i, to: end, output });
    at += own.length;
    i = end;
  }
  return units.length > 1 && at === mapped.length ? units : null;
}

function sameUpToCase(x: string, y: string): boolean {
  return x === y || x.toUpperCase() === y.toUpperCase();
}

/** Chunk boundaries (as unit indices, first 0 and last text.length). */
function chunkByInteraction(text: string, f: (text: string) => string, glueMarks: boolean): number[] {
  const bounds = [0];
  if (text.length === 0) return bounds;
  let chunk = "";
  let mappedChunk = "";
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const ch = cp > 0xffff ? text.slice(i, i + 2) : text[i];
    if (chunk === "") {
      chunk = ch;
      mappedChunk = f(ch);
    } else {
      const mapped = f(ch);
      const together = f(chunk + ch);
      const glued = COMBINING_MARK.test(ch) && (glueMarks || mapped === "");
      if (glued || together !== mappedChunk + mapped) {
        chunk += ch;
        mappedChunk = together;
      } else {
        bounds.push(i);
        chunk = ch;
        mappedChunk = mapped;
      }
    }
    i += ch.length;
  }
  bounds.push(text.length);
  return bounds;
}

function chunkByWhitespace(text: string): number[] {
  const bounds = [0];
  for (let i = 1; i < text.length; i++) {
    if (/\s/.test(text[i]) !== /\s/.test(text[i - 1])) bounds.push(i);
  }
  if (text.length > 0) bounds.push(text.length);
  return bounds;
}

/** `text.replaceAll(pattern, content)` with alignment: a replacement maps to what it replaced. */
export function replaceAligned(a: AlignedText, pattern: RegExp, content: string): AlignedText {
  const global = pattern.global ? pattern : new RegExp(pattern.source, pattern.flags + "g");
  const out = new AlignedBuilder(a.base);
  let last = 0;
  for (const match of a.text.matchAll(global)) {
    const from = match.index;
    const to = from + match[0].length;
    out.copy(a, last, from);
    out.pushFrom(a, from, to, content);
    last = to;
  }
  out.copy(a, last, a.text.length);
  return out.build();
}

/** Inserted text at the start maps to a zero-width range there. */
export function prependAligned(a: AlignedText, prefix: string): AlignedText {
  const out = new AlignedBuilder(a.base);
  out.pushFrom(a, 0, 0, prefix);
  out.copy(a, 0, a.text.length);
  return out.build();
}

/** Like String.prototype.trim / trimStart / trimEnd (the same whitespace set). */
export function trimAligned(a: AlignedText, left: boolean, right: boolean): AlignedText {
  let from = 0;
  let to = a.text.length;
  if (left) from = a.text.length - a.text.trimStart().length;
  if (right) to = a.text.trimEnd().length;
  if (to < from) to = from;
  return sliceAligned(a, from, to);
}

/**
 * Encodes a text to UTF-8 and writes each byte as one character of `byteToChar` (GPT-2's
 * byte-level alphabet). Every byte character maps to the code point its byte came from,
 * so the two to four bytes of "é", "患" or "🩺" all carry that character's range.
 */
export function byteLevelAligned(a: AlignedText, byteToChar: (byte: number) => string): AlignedText {
  const encoder = new TextEncoder();
  const out = new AlignedBuilder(a.base);
  let i = 0;
  while (i < a.text.length) {
    const cp = a.text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    // A lone surrogate encodes as U+FFFD (three bytes), as TextEncoder does for the whole text.
    const bytes = encoder.encode(a.text.slice(i, i + width));
    let chars = "";
    for (const byte of bytes) chars += byteToChar(byte);
    out.pushFrom(a, i, i + width, chars);
    i += width;
  }
  return out.build();
}
