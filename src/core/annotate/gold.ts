// Spans with offsets -> the mentions a model should write for them: how few-shot examples
// are shown to the model, and how the benchmark measures formats on gold annotations.
// Round trip: alignMentions(text, mentionsFromSpans(text, spans)) gives back `spans`
// (for non-overlapping spans; tested on the benchmark corpus).
//
// Each (type, words, attributes) group is written once when its spans are exactly the
// occurrences of the words (align.ts: "listed once = every occurrence"); otherwise each
// span is written with its occurrence number. A group of words that occur several times
// with a span in a relation is always written span by span: a relation names one item, and relate.ts would otherwise pick the
// pair of spans closest together, which need not be the related one. Mentions come in the
// order of their first span.

import type { DocumentLabels, Relation, Span } from "../corpus/types.ts";
import { exactOccurrences } from "./align.ts";
import type { Mention, MentionRelation } from "./types.ts";

export function mentionsFromSpans(text: string, spans: readonly Span[]): Mention[] {
  return answerFromAnnotation(text, spans).mentions;
}

/** An annotation (spans, relations between them by index, labels) as an answer to write. */
export function answerFromAnnotation(
  text: string,
  spans: readonly Span[],
  relations: readonly Relation[] = [],
  labels?: DocumentLabels,
): { mentions: Mention[]; relations: MentionRelation[]; labels?: DocumentLabels } {
  const related = new Set(relations.flatMap((relation) => [relation.from, relation.to]));
  const order = spans.map((span, index) => ({ span, index })).sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  const groups = new Map<string, { span: Span; index: number }[]>();
  for (const entry of order) {
    const words = text.slice(entry.span.start, entry.span.end);
    const key = JSON.stringify([entry.span.type, words.trim(), sortedAttributes(entry.span)]);
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  const mentions: Mention[] = [];
  const mentionOf = new Map<number, number>();
  for (const group of groups.values()) {
    const first = group[0].span;
    const raw = text.slice(first.start, first.end);
    const words = raw.trim();
    const lead = raw.length - raw.trimStart().length;
    const attributes = first.attributes && Object.keys(first.attributes).length > 0 ? { attributes: { ...first.attributes } } : {};
    const occurrences = exactOccurrences(text, words);
    const wanted = new Map(group.map((entry) => [entry.span.start + lead, entry.index]));
    const allOfThem = occurrences.length === wanted.size && occurrences.every(([start]) => wanted.has(start));
    // Words that occur once need no number even when related: the item names one span.
    if (allOfThem && (occurrences.length === 1 || !group.some((entry) => related.has(entry.index)))) {
      for (const entry of group) mentionOf.set(entry.index, mentions.length);
      mentions.push({ text: words, type: first.type, ...attributes });
      continue;
    }
    occurrences.forEach(([start], occurrence) => {
      const index = wanted.get(start);
      if (index === undefined) return;
      mentionOf.set(index, mentions.length);
      mentions.push({ text: words, type: first.type, occurrence: occurrence + 1, ...attributes });
    });
  }
  const written = relations.flatMap((relation) => {
    const from = mentionOf.get(relation.from);
    const to = mentionOf.get(relation.to);
    return from === undefined || to === undefined ? [] : [{ type: relation.type, from, to }];
  });
  return { mentions, relations: written, ...(labels !== undefined ? { labels } : {}) };
}

function sortedAttributes(span: Span): [string, string][] {
  return Object.entries(span.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
}
