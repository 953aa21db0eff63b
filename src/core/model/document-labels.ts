// A document label from a sequence classifier's logits, scored as transformers' pipelines
// score them: a softmax over the values for single choice, a sigmoid per value for
// multiple choice (problem_type "multi_label_classification"), where every value scoring
// above one half holds.

import { ShapeError } from "../errors.ts";

export interface DocumentPrediction {
  /** The values that hold: the best one (single choice) or each above 0.5 (multiple). */
  values: string[];
  /** A score per value, in the model's label order. */
  scores: number[];
}

export function documentPrediction(logits: ArrayLike<number>, labels: readonly string[], multiLabel: boolean): DocumentPrediction {
  if (logits.length !== labels.length) {
    throw new ShapeError(`documentPrediction: expected ${labels.length} logits (one per value), got ${logits.length}`);
  }
  const xs = Array.from(logits);
  if (multiLabel) {
    const scores = xs.map((x) => 1 / (1 + Math.exp(-x)));
    return { values: labels.filter((_, i) => scores[i] > 0.5), scores };
  }
  const top = Math.max(...xs);
  const exps = xs.map((x) => Math.exp(x - top));
  const total = exps.reduce((a, b) => a + b, 0);
  const scores = exps.map((e) => e / total);
  return { values: [labels[xs.indexOf(top)]], scores };
}
