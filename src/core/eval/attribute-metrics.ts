// Entity attribute scores (negation, certainty, …), two ways, as the clinical IE
// literature reports them:
// - on correctly found entities: for each gold span that a prediction matches strictly
//   (same start, end and type), is the predicted value the gold one? Accuracy over those
//   pairs, and per value precision/recall/F1 (value v: tp = both v, fp = predicted v and
//   gold not, fn = gold v and predicted not). This isolates the attribute classifier from
//   the entity finder.
// - end to end: an entity counts only if its span, type and value are all right; per value
//   and micro over all values, as strict span scores with "type" read as (type, value).
//
// Which attributes: those the schema defines, per entity type; spans of a type without the
// attribute do not take part. An attribute is scored by its name across the types that
// define it. A span without a value has the attribute's default, or NO_VALUE when there is
// none (a brat binary attribute that is absent), and NO_VALUE is scored like any value.
// Exact duplicate spans within a note count once (the first), as in span-metrics.ts.

import type { Span } from "../corpus/types.ts";
import type { EntityType } from "../schema/types.ts";
import { ClassCounts, meanF1 } from "./class-counts.ts";
import { scoresFromCounts, type NoteSpans, type Scores } from "./span-metrics.ts";

/** The value of an attribute a span does not have and that has no default. */
export const NO_VALUE = "(none)";

export interface AttributeScores {
  /** Gold entities found with exact boundaries and type, among the types that have the attribute. */
  matched: number;
  /** Share of those whose predicted value is the gold one (0 when none matched). */
  accuracy: number;
  /** Per value, on the matched entities; values in gold ∪ predictions, sorted. */
  perValue: Record<string, Scores>;
  /** Unweighted mean of perValue's F1. */
  macroF1: number;
  /** Span, type and value all right. */
  endToEnd: { micro: Scores; perValue: Record<string, Scores> };
}

/** Scores per attribute name, for every attribute the entity types define. */
export function attributeMetrics(notes: readonly NoteSpans[], entityTypes: readonly EntityType[]): Record<string, AttributeScores> {
  const names = [...new Set(entityTypes.flatMap((type) => (type.attributes ?? []).map((a) => a.name)))].sort();
  return Object.fromEntries(names.map((name) => [name, scoreAttribute(notes, entityTypes, name)]));
}

function scoreAttribute(notes: readonly NoteSpans[], entityTypes: readonly EntityType[], name: string): AttributeScores {
  // Per type, the default of this attribute (null: the type does not have it).
  const defaults = new Map<string, string | null>();
  for (const type of entityTypes) {
    const def = type.attributes?.find((a) => a.name === name);
    if (def) defaults.set(type.name, def.default ?? null);
  }
  const valueOf = (span: Span) => span.attributes?.[name] ?? defaults.get(span.type) ?? NO_VALUE;
  const carries = (span: Span) => defaults.has(span.type);

  const onMatched = new ClassCounts();
  const endToEnd = new ClassCounts();
  let matched = 0;
  let agreed = 0;
  for (const note of notes) {
    const gold = firstOfEach(note.gold.filter(carries));
    const pred = firstOfEach(note.pred.filter(carries));
    for (const [key, goldSpan] of gold) {
      const predSpan = pred.get(key);
      const g = valueOf(goldSpan);
      if (!predSpan) {
        endToEnd.add(g, "fn");
        continue;
      }
      const p = valueOf(predSpan);
      matched++;
      if (g === p) {
        agreed++;
        onMatched.add(g, "tp");
        endToEnd.add(g, "tp");
      } else {
        onMatched.add(p, "fp").add(g, "fn");
        endToEnd.add(p, "fp").add(g, "fn");
      }
    }
    for (const [key, predSpan] of pred) if (!gold.has(key)) endToEnd.add(valueOf(predSpan), "fp");
  }
  const perValue = onMatched.scores();
  return {
    matched,
    accuracy: matched > 0 ? agreed / matched : 0,
    perValue,
    macroF1: meanF1(perValue),
    endToEnd: { micro: scoresFromCounts(endToEnd.total()), perValue: endToEnd.scores() },
  };
}

/** Spans by start:end:type, the first of exact duplicates kept. */
function firstOfEach(spans: readonly Span[]): Map<string, Span> {
  const byKey = new Map<string, Span>();
  for (const span of spans) {
    const key = `${span.start}:${span.end}:${span.type}`;
    if (!byKey.has(key)) byKey.set(key, span);
  }
  return byKey;
}
