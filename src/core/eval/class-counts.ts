// Counting true and false positives per class, for the scores that are not about spans:
// attribute values, relation types, document-label values.

import { scoresFromCounts, type Counts, type Scores } from "./span-metrics.ts";

/** tp/fp/fn per class (an attribute value, a relation type, a label value); classes sorted on the way out. */
export class ClassCounts {
  private readonly table = new Map<string, Counts>();

  add(label: string, kind: keyof Counts, by = 1): this {
    let counts = this.table.get(label);
    if (!counts) this.table.set(label, (counts = { tp: 0, fp: 0, fn: 0 }));
    counts[kind] += by;
    return this;
  }

  scores(): Record<string, Scores> {
    const labels = [...this.table.keys()].sort();
    return Object.fromEntries(labels.map((label) => [label, scoresFromCounts(this.table.get(label)!)]));
  }

  total(): Counts {
    const total: Counts = { tp: 0, fp: 0, fn: 0 };
    for (const counts of this.table.values()) {
      total.tp += counts.tp;
      total.fp += counts.fp;
      total.fn += counts.fn;
    }
    return total;
  }
}

/** Unweighted mean F1 over the classes (0 with none): macro-F1 over gold ∪ predicted classes, as sklearn. */
export function meanF1(perClass: Record<string, Scores>): number {
  const scores = Object.values(perClass);
  return scores.length > 0 ? scores.reduce((sum, s) => sum + s.f1, 0) / scores.length : 0;
}
