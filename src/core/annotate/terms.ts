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

import { isBounded, normalizeWithOffsets, normalizeWords, resolveOverlaps } from "./align.ts";
import type { AnnotatedSpan } from "./types.ts";

export interface TermList {
  type: string;
  terms?: readonly string[];
  patterns?: readonly (string | RegExp)[];
}

export interface TermOptions {
  foldAccents?: boolean;
}

export type TermMatcher = (text: string) => AnnotatedSpan[];

export function termMatcher(lists: readonly TermList[], options: TermOptions = {}): TermMatcher {
  const fold = options.foldAccents ?? false;
  const entries: { type: string; needle: string; order: number }[] = [];
  const patterns: { type: string; regex: RegExp; order: number }[] = [];
  let order = 0;
  for (const list of lists) {
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
      .kept.map(({ mention: _, ...span }) => span)
      .sort((a, b) => a.start - b.start || a.end - b.end);
  };
}
