// Document-label scores, per label the schema defines, over the notes whose gold gives
// that label (a note without it is not scored for it):
// - single choice: accuracy (predicted value = gold value; no prediction counts as wrong)
//   and per value precision/recall/F1, one-vs-rest, with macro-F1 their unweighted mean
//   over the values in gold ∪ predictions (sklearn's average="macro");
// - multiple choice: per value binary F1 (is the value among the note's values?), macro-F1
//   over the values in gold ∪ predictions, micro-F1 over all (note, value) decisions, and
//   exact-match accuracy (the predicted set equals the gold set; sklearn's subset accuracy).

import type { DocumentLabels } from "../corpus/types.ts";
import type { DocumentLabelDef } from "../schema/types.ts";
import { ClassCounts, meanF1 } from "./class-counts.ts";
import { scoresFromCounts, type Scores } from "./span-metrics.ts";

export interface NoteLabels {
  gold: DocumentLabels;
  pred: DocumentLabels;
}

export interface LabelScores {
  multiple: boolean;
  /** Notes whose gold gives this label. */
  notes: number;
  /** Single choice: share of notes with the right value. Multiple: share with exactly the right set. */
  accuracy: number;
  perValue: Record<string, Scores>;
  macroF1: number;
  /** Over every (note, value) decision; for single choice it equals accuracy when every note has a prediction. */
  micro: Scores;
}

export function labelMetrics(notes: readonly NoteLabels[], definitions: readonly DocumentLabelDef[]): Record<string, LabelScores> {
  return Object.fromEntries(definitions.map((definition) => [definition.name, scoreLabel(notes, definition)]));
}

function scoreLabel(notes: readonly NoteLabels[], { name, multiple }: DocumentLabelDef): LabelScores {
  const counts = new ClassCounts();
  let scored = 0;
  let right = 0;
  for (const note of notes) {
    const goldValues = note.gold[name];
    if (goldValues === undefined) continue;
    scored++;
    // A single-choice label is one value: the first, should a note carry more.
    const gold = new Set(multiple ? goldValues : goldValues.slice(0, 1));
    const pred = new Set(multiple ? (note.pred[name] ?? []) : (note.pred[name] ?? []).slice(0, 1));
    for (const value of pred) counts.add(value, gold.has(value) ? "tp" : "fp");
    for (const value of gold) if (!pred.has(value)) counts.add(value, "fn");
    if (gold.size === pred.size && [...gold].every((value) => pred.has(value))) right++;
  }
  const perValue = counts.scores();
  return {
    multiple,
    notes: scored,
    accuracy: scored > 0 ? right / scored : 0,
    perValue,
    macroF1: meanF1(perValue),
    micro: scoresFromCounts(counts.total()),
  };
}
