// The term-list annotator: per type, terms and regular expressions the user gives.
//
// - Terms match case-insensitively after NFKC (full-width letters match half-width ones),
//   with any run of whitespace matching any other; accents count unless `foldAccents`
//   (Spanish "pérdida" and "perdida" are different words).
// - Matches must not cut words (align.ts `isBounded`): "dolor" does not match inside
//   "dolorosa", and JavaScript's `\b` is not used because it treats "á" as a non-word
//   character. Japanese and Chinese have no spaces between words, so there every
//   substring match counts: "糖尿病" matches inside "糖尿病性腎症", unless a longer term
//   covers it.
// - Patterns are JavaScript regular expressions (flags `giu` added), run on the original
//   text; their matches must not cut words either.
// - Where matches overlap, the longest wins; equal lengths: the earlier list, the earlier term.
// - Cues set attributes (NegEx-like, deliberately small): a list's cue sets `attribute =
//   value` on a match of that list when one of its words comes before the match with at
//   most `window` words in between (5 by default), in the same sentence (. ; ! ? or a line break end a cue's reach) and
//   with none of its `until` words ("but", "pero") in between. E.g. "no", "denies", "sin",
//   "niega" -> certainty = negated. Cue words match as terms do (case, NFKC, whole words).
//   The first listed cue of an attribute that applies wins.

import type { TaskSchema } from "../schema/types.ts";
import { isBounded, normalizeWithOffsets, normalizeWords, resolveOverlaps } from "./align.ts";
import { TermListError } from "./errors.ts";
import type { AnnotatedSpan } from "./types.ts";

export interface AttributeCue {
  attribute: string;
  value: string;
  /** Words or phrases that set the value when they come shortly before a match. */
  words: readonly string[];
  /** How many words may come between the cue and the match; 5 by default. */
  window?: number;
  /** Words that end a cue's reach, e.g. "but", "pero". */
  until?: readonly string[];
}

export interface TermList {
  type: string;
  terms?: readonly string[];
  patterns?: readonly (string | RegExp)[];
  /** Attribute cues for this list's matches. */
  cues?: readonly AttributeCue[];
}

export const DEFAULT_CUE_WINDOW = 5;

export interface TermOptions {
  foldAccents?: boolean;
}

export type TermMatcher = (text: string) => AnnotatedSpan[];

export function termMatcher(lists: readonly TermList[], options: TermOptions = {}): TermMatcher {
  const fold = options.foldAccents ?? false;
  const entries: { type: string; needle: string; order: number }[] = [];
  const patterns: { type: string; regex: RegExp; order: number }[] = [];
  // Which list each term or pattern (by `order`) came from, for its cues.
  const listOf: number[] = [];
  const cues = lists.map((list) => (list.cues ?? []).map((cue) => prepareCue(cue, fold)));
  let order = 0;
  for (const [listIndex, list] of lists.entries()) {
    const start = order;
    for (const term of list.terms ?? []) {
      const needle = normalizeWords(term, fold);
      if (needle) entries.push({ type: list.type, needle, order: order++ });
    }
    for (const pattern of list.patterns ?? []) {
      const source = typeof pattern === "string" ? pattern : pattern.source;
      const flags = new Set([..."giu", ...(typeof pattern === "string" ? "" : pattern.flags)]);
      flags.delete("y");
      patterns.push({ type: list.type, regex: new RegExp(source, [...flags].join("")), order: order++ });
    }
    for (let at = start; at < order; at++) listOf[at] = listIndex;
  }
  return (text) => {
    const norm = normalizeWithOffsets(text, fold);
    const found: (AnnotatedSpan & { mention: number })[] = [];
    for (const { type, needle, order } of entries) {
      for (let at = norm.text.indexOf(needle); at >= 0; at = norm.text.indexOf(needle, at + 1)) {
        const start = norm.start[at];
        const end = norm.end[at + needle.length - 1];
        if (isBounded(text, start, end)) found.push({ start, end, type, match: "term", score: 1, mention: order });
      }
    }
    for (const { type, regex, order } of patterns) {
      regex.lastIndex = 0;
      for (const match of text.matchAll(regex)) {
        const start = match.index!;
        const end = start + match[0].length;
        if (end > start && isBounded(text, start, end)) found.push({ start, end, type, match: "term", score: 1, mention: order });
      }
    }
    return resolveOverlaps(found)
      .kept.map(({ mention, ...span }) => withCues(text, span, cues[listOf[mention]]))
      .sort((a, b) => a.start - b.start || a.end - b.end);
  };
}

interface PreparedCue {
  attribute: string;
  value: string;
  words: string[];
  until: string[];
  window: number;
  fold: boolean;
}

function prepareCue(cue: AttributeCue, fold: boolean): PreparedCue {
  const normalize = (words: readonly string[] | undefined) => (words ?? []).map((word) => normalizeWords(word, fold)).filter(Boolean);
  return { attribute: cue.attribute, value: cue.value, words: normalize(cue.words), until: normalize(cue.until), window: cue.window ?? DEFAULT_CUE_WINDOW, fold };
}

const SENTENCE_END = /[.;!?\n\r。！？]/g;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** The span with the attributes its list's cues set. */
function withCues(text: string, span: AnnotatedSpan, cues: readonly PreparedCue[]): AnnotatedSpan {
  const attributes = cueAttributes(text, span.start, cues, {});
  return Object.keys(attributes).length > 0 ? { ...span, attributes } : span;
}

/** Spans (from any annotator: a model, gold) with the attributes these cues set, as a term list's cues set them on its matches. */
export function applyCues<S extends { start: number; attributes?: Record<string, string> }>(text: string, spans: readonly S[], cues: readonly AttributeCue[], options: TermOptions = {}): S[] {
  const prepared = cues.map((cue) => prepareCue(cue, options.foldAccents ?? false));
  return spans.map((span) => {
    const attributes = cueAttributes(text, span.start, prepared, span.attributes ?? {});
    return Object.keys(attributes).length > 0 ? { ...span, attributes } : span;
  });
}

/** `given` plus what the cues set before `start`; an attribute already set, or set by an earlier cue, stays. */
function cueAttributes(text: string, start: number, cues: readonly PreparedCue[], given: Readonly<Record<string, string>>): Record<string, string> {
  const attributes = { ...given };
  for (const cue of cues) if (attributes[cue.attribute] === undefined && cueApplies(text, start, cue)) attributes[cue.attribute] = cue.value;
  return attributes;
}

/** A cue word at most `window` words before `start`, in the same sentence, with no `until` word after it. */
function cueApplies(text: string, start: number, cue: PreparedCue): boolean {
  let sentenceStart = 0;
  for (const end of text.slice(0, start).matchAll(SENTENCE_END)) sentenceStart = end.index! + 1;
  const before = normalizeWithOffsets(text.slice(sentenceStart, start), cue.fold).text;
  /** Where the last whole-word occurrence of `needle` ends, or -1. */
  const lastEnd = (needle: string) => {
    let end = -1;
    for (let at = before.indexOf(needle); at >= 0; at = before.indexOf(needle, at + 1)) if (isBounded(before, at, at + needle.length)) end = at + needle.length;
    return end;
  };
  const cueEnd = Math.max(-1, ...cue.words.map(lastEnd));
  if (cueEnd < 0) return false;
  const between = [...before.slice(cueEnd).matchAll(WORD)].length;
  return between <= cue.window && !cue.until.some((word) => lastEnd(word) > cueEnd);
}

/** Throws TermListError for a cue whose attribute or value the schema does not give the list's type. */
export function checkCues(lists: readonly TermList[], schema: TaskSchema): void {
  for (const list of lists) {
    for (const [index, cue] of (list.cues ?? []).entries()) {
      const where = `cue ${index + 1} (${cue.attribute}=${cue.value})`;
      const attribute = schema.entityTypes.find((type) => type.name === list.type)?.attributes?.find((def) => def.name === cue.attribute);
      if (!attribute) throw new TermListError(list.type, `${where} names the attribute "${cue.attribute}", which ${list.type} does not have in the schema`);
      if (!attribute.values.includes(cue.value)) throw new TermListError(list.type, `${where}: "${cue.value}" is not a value of ${cue.attribute} (${attribute.values.join(", ")})`);
      if (cue.words.every((word) => !word.trim())) throw new TermListError(list.type, `${where} has no cue words`);
      if (cue.window !== undefined && !(Number.isInteger(cue.window) && cue.window > 0)) throw new TermListError(list.type, `${where}: the window must be a whole number of words above 0, not ${cue.window}`);
    }
  }
}
