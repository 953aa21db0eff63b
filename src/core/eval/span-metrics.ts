// Span-level precision, recall and F1 of predicted spans against gold spans.
//
// Choices, so numbers can be compared with other tools:
// - Strict: a prediction is correct when start, end and type all equal a gold span's.
//   These are the CoNLL/seqeval entity-level scores (tested against a seqeval-style
//   reference on BIO tags). Exact duplicate spans within a note count once, as seqeval's
//   entity sets do.
// - Lenient: a prediction matches a gold span of the same type that it overlaps by at
//   least one character; each gold and each prediction is matched at most once. Pairs are
//   taken greedily, largest overlap first (ties: earlier gold, then earlier prediction),
//   separately per note and type. Greedy is deterministic and simple to explain; it can
//   find fewer pairs than a maximum matching in rare chains of overlaps.
// - Zero division gives 0 (seqeval's zero_division=0): precision with no predictions,
//   recall with no gold, and F1 when precision + recall = 0.
// - Macro averages are unweighted means of the per-type precision, recall and F1 over
//   the types in gold ∪ predictions (seqeval and sklearn do the same); a type that only
//   the predictions use scores 0 and pulls the macro average down, as it should.

import type { Span } from "../corpus/types.ts";

export interface NoteSpans {
  gold: readonly Span[];
  pred: readonly Span[];
}

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Scores extends Counts {
  precision: number;
  recall: number;
  f1: number;
}

export interface AveragedScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface MatchScores {
  micro: Scores;
  macro: AveragedScores;
  perType: Record<string, Scores>;
}

/** Why a prediction is wrong under strict matching. */
export type FalsePositiveKind = "type" | "boundary" | "boundary+type" | "spurious";
/** Why a gold span is missed under strict matching. */
export type FalseNegativeKind = "type" | "boundary" | "boundary+type" | "missed";

export interface SpanError {
  /** Index of the note in the input. */
  note: number;
  side: "pred" | "gold";
  kind: FalsePositiveKind | FalseNegativeKind;
  span: Span;
  /** The span on the other side that explains the kind (absent for spurious and missed). */
  other?: Span;
}

/**
 * Each strict false positive and each strict false negative, classified on its own, so
 * the `fp` kinds sum to strict FP and the `fn` kinds to strict FN. A boundary error
 * therefore shows up once on each side. Order of tests for a prediction (a gold span is
 * classified the same way against the predictions):
 *   type           a gold span has the same boundaries and another type;
 *   boundary       it overlaps a gold span of the same type;
 *   boundary+type  it overlaps a gold span of another type;
 *   spurious       it overlaps no gold span (for gold: missed).
 */
export interface ErrorBreakdown {
  fp: Record<FalsePositiveKind, number>;
  fn: Record<FalseNegativeKind, number>;
  list: SpanError[];
}

export interface SpanMetrics {
  /** Types in gold ∪ predictions, sorted. */
  types: string[];
  strict: MatchScores;
  lenient: MatchScores;
  errors: ErrorBreakdown;
}

export function scoresFromCounts({ tp, fp, fn }: Counts): Scores {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, precision, recall, f1 };
}

const spanKey = (span: Span) => `${span.start}:${span.end}:${span.type}`;

/** Drop exact duplicates (same start, end and type), keeping the first. */
function unique(spans: readonly Span[]): Span[] {
  const seen = new Set<string>();
  return spans.filter((span) => {
    const key = spanKey(span);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const overlap = (a: Span, b: Span) => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
const sameBoundaries = (a: Span, b: Span) => a.start === b.start && a.end === b.end;

/** Strict TP, FP, FN of one note, all types together: what the bootstrap sums. */
export function strictCounts(gold: readonly Span[], pred: readonly Span[]): Counts {
  const goldKeys = new Set(gold.map(spanKey));
  const predKeys = new Set(pred.map(spanKey));
  let tp = 0;
  for (const key of predKeys) if (goldKeys.has(key)) tp++;
  return { tp, fp: predKeys.size - tp, fn: goldKeys.size - tp };
}

/** Greedy one-to-one lenient matching within one note and one type; returns the pair count. */
export function lenientMatchCount(gold: readonly Span[], pred: readonly Span[]): number {
  const pairs: { overlap: number; g: number; p: number }[] = [];
  gold.forEach((g, gi) =>
    pred.forEach((p, pi) => {
      const o = overlap(g, p);
      if (o > 0) pairs.push({ overlap: o, g: gi, p: pi });
    }),
  );
  pairs.sort((a, b) => b.overlap - a.overlap || byPosition(gold[a.g], gold[b.g]) || byPosition(pred[a.p], pred[b.p]));
  const goldUsed = new Set<number>();
  const predUsed = new Set<number>();
  for (const pair of pairs) {
    if (goldUsed.has(pair.g) || predUsed.has(pair.p)) continue;
    goldUsed.add(pair.g);
    predUsed.add(pair.p);
  }
  return goldUsed.size;
}

const byPosition = (a: Span, b: Span) => a.start - b.start || a.end - b.end;

function classify(span: Span, others: readonly Span[]): { kind: "type" | "boundary" | "boundary+type" | null; other?: Span } {
  const sameSpot = others.find((o) => sameBoundaries(o, span) && o.type !== span.type);
  if (sameSpot) return { kind: "type", other: sameSpot };
  const overlapping = others.filter((o) => overlap(o, span) > 0).sort((a, b) => overlap(b, span) - overlap(a, span) || byPosition(a, b));
  const sameType = overlapping.find((o) => o.type === span.type);
  if (sameType) return { kind: "boundary", other: sameType };
  if (overlapping.length > 0) return { kind: "boundary+type", other: overlapping[0] };
  return { kind: null };
}

function groupByType(spans: readonly Span[]): Map<string, Span[]> {
  const groups = new Map<string, Span[]>();
  for (const span of spans) {
    const group = groups.get(span.type);
    if (group) group.push(span);
    else groups.set(span.type, [span]);
  }
  return groups;
}

function averaged(types: readonly string[], perType: Record<string, Scores>): AveragedScores {
  if (types.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const mean = (pick: (s: Scores) => number) => types.reduce((sum, type) => sum + pick(perType[type]), 0) / types.length;
  return { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) };
}

export function spanMetrics(notes: readonly NoteSpans[]): SpanMetrics {
  const strict = new Map<string, Counts>();
  const lenient = new Map<string, Counts>();
  const countsFor = (table: Map<string, Counts>, type: string) => {
    let counts = table.get(type);
    if (!counts) table.set(type, (counts = { tp: 0, fp: 0, fn: 0 }));
    return counts;
  };
  const errors: ErrorBreakdown = {
    fp: { type: 0, boundary: 0, "boundary+type": 0, spurious: 0 },
    fn: { type: 0, boundary: 0, "boundary+type": 0, missed: 0 },
    list: [],
  };

  notes.forEach((note, index) => {
    const gold = unique(note.gold);
    const pred = unique(note.pred);
    const goldKeys = new Set(gold.map(spanKey));
    const predKeys = new Set(pred.map(spanKey));

    for (const span of pred) {
      const counts = countsFor(strict, span.type);
      if (goldKeys.has(spanKey(span))) {
        counts.tp++;
        continue;
      }
      counts.fp++;
      const { kind, other } = classify(span, gold);
      const error = kind ?? "spurious";
      errors.fp[error]++;
      errors.list.push({ note: index, side: "pred", kind: error, span, ...(other && { other }) });
    }
    for (const span of gold) {
      const counts = countsFor(strict, span.type);
      if (predKeys.has(spanKey(span))) continue;
      counts.fn++;
      const { kind, other } = classify(span, pred);
      const error = kind ?? "missed";
      errors.fn[error]++;
      errors.list.push({ note: index, side: "gold", kind: error, span, ...(other && { other }) });
    }

    const goldByType = groupByType(gold);
    const predByType = groupByType(pred);
    for (const type of new Set([...goldByType.keys(), ...predByType.keys()])) {
      const g = goldByType.get(type) ?? [];
      const p = predByType.get(type) ?? [];
      const matched = lenientMatchCount(g, p);
      const counts = countsFor(lenient, type);
      counts.tp += matched;
      counts.fp += p.length - matched;
      counts.fn += g.length - matched;
    }
  });

  const types = [...strict.keys()].sort();
  const summarize = (table: Map<string, Counts>): MatchScores => {
    const perType: Record<string, Scores> = {};
    const total: Counts = { tp: 0, fp: 0, fn: 0 };
    for (const type of types) {
      const counts = table.get(type) ?? { tp: 0, fp: 0, fn: 0 };
      perType[type] = scoresFromCounts(counts);
      total.tp += counts.tp;
      total.fp += counts.fp;
      total.fn += counts.fn;
    }
    return { micro: scoresFromCounts(total), macro: averaged(types, perType), perType };
  };
  return { types, strict: summarize(strict), lenient: summarize(lenient), errors };
}
