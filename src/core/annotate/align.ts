// Mentions (words + type, as a model writes them) -> character spans in the ORIGINAL note.
//
// Matching, in order; the first step that finds the words wins:
//   exact       the words as written, at word boundaries (see `isBounded`); when they
//               occur only inside longer words, those occurrences are used;
//   normalized  NFKC (full-width -> half-width, composed accents), lower case, runs of
//               whitespace (CRLF, tabs, U+3000) as one space; offsets map back to the
//               original text, so a CRLF inside a span stays inside it;
//   fuzzy       the most similar stretch of the normalized note, at token boundaries,
//               within an edit distance of 15% of the mention's length (so never for
//               mentions under 7 characters); one span, with its similarity as `score`.
//
// Occurrences (what `Mention.occurrence` counts, from 1): the non-overlapping matches of
// the exact step, left to right. The gold serializer (gold.ts) counts the same way.
//
// How many spans a mention gives:
//   - listed once, no occurrence: EVERY occurrence. An NER model must tag each mention
//     of an entity, and a model that lists "fiebre" once means each "fiebre";
//   - listed with an occurrence: that occurrence only (the format's way to say "only
//     some of them", used when the note has the words where they are not that entity);
//   - the same words and type listed k >= 2 times: the first k occurrences, in order
//     (models that list each mention as they read it); listings beyond the occurrences
//     are unplaced.
//
// Overlaps between placed spans (`resolveOverlaps`): higher confidence wins, then the
// longer span, then the mention listed first; the same span with two types keeps the
// first listed. A mention all of whose spans lost is returned in `unplaced`, never dropped.
// A mention's attributes go onto each of its spans.

import type { AnnotatedSpan, Mention, UnplacedMention } from "./types.ts";

export interface AlignOptions {
  /** Largest edit distance for fuzzy matches, as a fraction of the mention's length. */
  fuzzyMaxDistance?: number;
  /** Fuzzy searches are costly: after this many distinct texts per note, the rest are unplaced. */
  fuzzyBudget?: number;
}

export interface PlacedSpan extends AnnotatedSpan {
  /** Index of the mention (in the list given) that produced the span. */
  mention: number;
}

export interface DroppedSpan {
  span: PlacedSpan;
  reason: string;
}

export interface AlignResult {
  /** Non-overlapping spans, by start. */
  spans: PlacedSpan[];
  unplaced: UnplacedMention[];
  /** Spans that lost an overlap while their mention kept other spans (for audit). */
  dropped: DroppedSpan[];
}

export function alignMentions(text: string, mentions: readonly Mention[], options: AlignOptions = {}): AlignResult {
  const finder = new OccurrenceFinder(text, options);
  const unplaced: UnplacedMention[] = [];
  const candidates: PlacedSpan[] = [];

  const groups = new Map<string, number[]>();
  mentions.forEach((mention, index) => {
    const words = mention.text.trim();
    if (!words) {
      unplaced.push({ mention, reason: "the mention has no text" });
      return;
    }
    const key = `${mention.type}\u0000${words}`;
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  });

  for (const indices of groups.values()) {
    const words = mentions[indices[0]].text.trim();
    const found = finder.find(words);
    if (found.spans.length === 0) {
      for (const index of indices) unplaced.push({ mention: mentions[index], reason: found.reason });
      continue;
    }
    const place = (index: number, [start, end]: [number, number]) => {
      const attributes = mentions[index].attributes;
      candidates.push({ start, end, type: mentions[index].type, ...(attributes ? { attributes: { ...attributes } } : {}), match: found.match, score: found.score, mention: index });
    };

    const taken = new Set<number>();
    const plain: number[] = [];
    for (const index of indices) {
      const occurrence = mentions[index].occurrence;
      if (occurrence === undefined) {
        plain.push(index);
      } else if (Number.isInteger(occurrence) && occurrence >= 1 && occurrence <= found.spans.length) {
        taken.add(occurrence - 1);
        place(index, found.spans[occurrence - 1]);
      } else {
        unplaced.push({
          mention: mentions[index],
          reason: `occurrence ${occurrence} was asked for, but the words occur ${found.spans.length} time(s)`,
        });
      }
    }
    if (plain.length === 1) {
      found.spans.forEach((span) => place(plain[0], span));
    } else if (plain.length > 1) {
      const free = found.spans.filter((_, occurrence) => !taken.has(occurrence));
      plain.forEach((index, k) => {
        if (k < free.length) place(index, free[k]);
        else unplaced.push({ mention: mentions[index], reason: `listed ${plain.length} times, but the words occur ${free.length} time(s)` });
      });
    }
  }

  const { kept, lost } = resolveOverlaps(candidates);
  const keptMentions = new Set(kept.map((span) => span.mention));
  const dropped: DroppedSpan[] = [];
  const reported = new Set<number>();
  for (const { span, reason } of lost) {
    if (keptMentions.has(span.mention)) dropped.push({ span, reason });
    else if (!reported.has(span.mention)) {
      reported.add(span.mention);
      unplaced.push({ mention: mentions[span.mention], reason });
    }
  }
  return { spans: kept.sort((a, b) => a.start - b.start || a.end - b.end), unplaced, dropped };
}

/**
 * Keeps a non-overlapping subset: by confidence (absent = 1), then length, then mention
 * order. Exact duplicates (same start, end, type) are merged into the first.
 */
export function resolveOverlaps<T extends { start: number; end: number; type: string; confidence?: number; mention?: number }>(
  spans: readonly T[],
): { kept: T[]; lost: { span: T; reason: string }[] } {
  const order = spans
    .map((span, index) => ({ span, index }))
    .sort(
      (a, b) =>
        (b.span.confidence ?? 1) - (a.span.confidence ?? 1) ||
        b.span.end - b.span.start - (a.span.end - a.span.start) ||
        (a.span.mention ?? a.index) - (b.span.mention ?? b.index) ||
        a.span.start - b.span.start,
    );
  const kept: T[] = [];
  const lost: { span: T; reason: string }[] = [];
  // Kept spans by start; they never overlap each other, so one neighbour each side decides.
  const starts: T[] = [];
  const seen = new Set<string>();
  for (const { span } of order) {
    const key = `${span.start}:${span.end}:${span.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid].start < span.start) lo = mid + 1;
      else hi = mid;
    }
    const before = starts[lo - 1];
    const after = starts[lo];
    const blocker = before && before.end > span.start ? before : after && after.start < span.end ? after : undefined;
    if (blocker) {
      const same = blocker.start === span.start && blocker.end === span.end;
      lost.push({
        span,
        reason: same
          ? `the same words were already marked ${blocker.type}`
          : `overlaps [${blocker.start}, ${blocker.end}) ${blocker.type}, which was kept (longer or more confident)`,
      });
      continue;
    }
    starts.splice(lo, 0, span);
    kept.push(span);
  }
  return { kept, lost };
}

// --- Finding words in a note -----------------------------------------------------------

interface Found {
  spans: [number, number][];
  match: AnnotatedSpan["match"];
  score: number;
  reason: string;
}

/** Scripts written without spaces between words: no word boundary is required there. */
const SPACELESS = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\u30fc\uff70-\uff9f]/u;
const LETTER = /[\p{L}\p{M}]/u;
const DIGIT = /\p{N}/u;

function charClass(char: string | undefined): "letter" | "digit" | "other" {
  if (char === undefined || SPACELESS.test(char)) return "other";
  if (LETTER.test(char)) return "letter";
  if (DIGIT.test(char)) return "digit";
  return "other";
}

/** The code point ending just before `index`. */
function charBefore(text: string, index: number): string | undefined {
  if (index <= 0) return undefined;
  const low = text.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) return text.slice(index - 2, index);
  return text[index - 1];
}

function charAt(text: string, index: number): string | undefined {
  if (index >= text.length) return undefined;
  return String.fromCodePoint(text.codePointAt(index)!);
}

/**
 * [start, end) does not cut a word: at each edge, the characters either side are not both
 * letters (or both digits) of a script written with spaces. "10mg" holds the word "mg";
 * "dolorosa" does not hold "dolor"; Japanese "造影CT検査" holds "CT" and "造影".
 */
export function isBounded(text: string, start: number, end: number): boolean {
  const joins = (a: string | undefined, b: string | undefined) => {
    const ca = charClass(a);
    return ca !== "other" && ca === charClass(b);
  };
  return !joins(charBefore(text, start), charAt(text, start)) && !joins(charBefore(text, end), charAt(text, end));
}

/** The exact occurrences of `words` in `text`, as `Mention.occurrence` counts them. */
export function exactOccurrences(text: string, words: string): [number, number][] {
  const all: number[] = [];
  if (!words) return [];
  for (let at = text.indexOf(words); at >= 0; at = text.indexOf(words, at + words.length)) all.push(at);
  const bounded = all.filter((start) => isBounded(text, start, start + words.length));
  return (bounded.length > 0 ? bounded : all).map((start) => [start, start + words.length]);
}

/** A normalized copy of a text with, for each of its code units, the original [start, end). */
export interface NormalizedText {
  text: string;
  start: number[];
  end: number[];
}

/** A base character with its combining marks (and half-width kana voicing marks). */
const CLUSTER = /[\s\S][\p{M}\uff9e\uff9f]*/gu;

/**
 * `foldAccents` also drops diacritics ("pérdida" -> "perdida"); off for alignment, where
 * the model was asked to copy the words exactly. The dakuten of Japanese kana are kept.
 */
export function normalizeWithOffsets(original: string, foldAccents = false): NormalizedText {
  let text = "";
  const start: number[] = [];
  const end: number[] = [];
  for (const match of original.matchAll(CLUSTER)) {
    const from = match.index!;
    const to = from + match[0].length;
    let piece = match[0].normalize("NFKC").toLowerCase();
    if (foldAccents && /[^\u0000-\u007f]/.test(piece) && !SPACELESS.test(piece)) piece = piece.normalize("NFD").replace(/\p{M}/gu, "").normalize("NFC");
    if (/^\s+$/.test(piece)) {
      if (text.endsWith(" ")) end[end.length - 1] = to;
      else {
        text += " ";
        start.push(from);
        end.push(to);
      }
      continue;
    }
    for (let i = 0; i < piece.length; i++) {
      start.push(from);
      end.push(to);
    }
    text += piece;
  }
  return { text, start, end };
}

export function normalizeWords(words: string, foldAccents = false): string {
  return normalizeWithOffsets(words.trim(), foldAccents).text.trim();
}

class OccurrenceFinder {
  private normalized?: NormalizedText;
  private tokenStarts?: Set<number>;
  private tokenEnds?: Set<number>;
  private fuzzyLeft: number;
  private readonly cache = new Map<string, Found>();
  private readonly maxDistance: number;

  constructor(
    private readonly text: string,
    options: AlignOptions,
  ) {
    this.fuzzyLeft = options.fuzzyBudget ?? 200;
    this.maxDistance = options.fuzzyMaxDistance ?? 0.15;
  }

  find(words: string): Found {
    let found = this.cache.get(words);
    if (!found) {
      found = this.search(words);
      this.cache.set(words, found);
    }
    return found;
  }

  private search(words: string): Found {
    const exact = exactOccurrences(this.text, words);
    if (exact.length > 0) return { spans: exact, match: "exact", score: 1, reason: "" };

    const norm = (this.normalized ??= normalizeWithOffsets(this.text));
    const needle = normalizeWords(words);
    if (!needle) return { spans: [], match: "exact", score: 0, reason: "the mention has no text" };
    const spans: [number, number][] = [];
    const unbounded: [number, number][] = [];
    for (let at = norm.text.indexOf(needle); at >= 0; at = norm.text.indexOf(needle, at + needle.length)) {
      const span: [number, number] = [norm.start[at], norm.end[at + needle.length - 1]];
      (isBounded(this.text, span[0], span[1]) ? spans : unbounded).push(span);
    }
    if (spans.length > 0 || unbounded.length > 0) {
      return { spans: spans.length > 0 ? spans : unbounded, match: "normalized", score: 1, reason: "" };
    }

    const limit = Math.floor(needle.length * this.maxDistance);
    if (limit === 0) return { spans: [], match: "fuzzy", score: 0, reason: "not in the note (too short for a fuzzy match)" };
    if (this.fuzzyLeft <= 0) return { spans: [], match: "fuzzy", score: 0, reason: "not in the note as written; fuzzy search budget for this note spent" };
    this.fuzzyLeft--;
    const best = this.fuzzy(norm, needle, limit);
    if (!best) return { spans: [], match: "fuzzy", score: 0, reason: `not in the note, not even within ${Math.round(this.maxDistance * 100)}% edits` };
    return { spans: [[norm.start[best.start], norm.end[best.end - 1]]], match: "fuzzy", score: best.score, reason: "" };
  }

  /** The most similar token-aligned stretch of the normalized note; ties go to the earliest. */
  private fuzzy(norm: NormalizedText, needle: string, limit: number): { start: number; end: number; score: number } | undefined {
    if (!this.tokenStarts) {
      this.tokenStarts = new Set();
      this.tokenEnds = new Set();
      for (const token of norm.text.matchAll(/[\p{L}\p{M}\p{N}]+|\S/gu)) {
        const isRun = token[0].length > 1 && !SPACELESS.test(token[0]);
        if (isRun) {
          this.tokenStarts.add(token.index!);
          this.tokenEnds!.add(token.index! + token[0].length);
        } else {
          // Spaceless scripts and punctuation: any character may start or end a stretch.
          for (let i = 0; i < token[0].length; i++) {
            this.tokenStarts.add(token.index! + i);
            this.tokenEnds!.add(token.index! + i + 1);
          }
        }
      }
    }
    let best: { start: number; end: number; score: number } | undefined;
    for (const start of this.tokenStarts) {
      for (let length = needle.length - limit; length <= needle.length + limit; length++) {
        const end = start + length;
        if (length <= 0 || end > norm.text.length || !this.tokenEnds!.has(end)) continue;
        const distance = boundedLevenshtein(norm.text.slice(start, end), needle, best ? Math.min(limit, distanceFor(best.score, needle, length)) : limit);
        if (distance === undefined) continue;
        const score = 1 - distance / Math.max(needle.length, length);
        if (!best || score > best.score || (score === best.score && start < best.start)) best = { start, end, score };
      }
    }
    return best;
  }
}

/** The largest distance that could still beat `score` (ties allowed). */
function distanceFor(score: number, needle: string, length: number): number {
  return Math.floor((1 - score) * Math.max(needle.length, length) + 1e-9);
}

/** Levenshtein distance, or undefined when it exceeds `limit` (stops early). */
export function boundedLevenshtein(a: string, b: string, limit: number): number | undefined {
  if (Math.abs(a.length - b.length) > limit) return undefined;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (current[j] < rowMin) rowMin = current[j];
    }
    if (rowMin > limit) return undefined;
    [previous, current] = [current, previous];
  }
  return previous[b.length] <= limit ? previous[b.length] : undefined;
}
