// Relation precision, recall and F1, strict: a predicted relation is right when a gold
// relation has the same type and the same two entities, each with exact boundaries and
// type. A relation of an undirected type matches in either order; of a directed type (or
// one the schema does not list), only from → to. Exact duplicates within a note count once.
// Micro over all relations, per relation type, and macro as the unweighted mean of the
// per-type scores over the types in gold ∪ predictions (as span-metrics.ts does).

import type { Relation, Span } from "../corpus/types.ts";
import type { RelationType } from "../schema/types.ts";
import { isDirected } from "../schema/validate.ts";
import { ClassCounts } from "./class-counts.ts";
import { scoresFromCounts, type AveragedScores, type Scores } from "./span-metrics.ts";

/** One side of a note: its spans and the relations between them (indexes into spans). */
export interface SpansAndRelations {
  spans: readonly Span[];
  relations?: readonly Relation[];
}

export interface NoteRelations {
  gold: SpansAndRelations;
  pred: SpansAndRelations;
}

export interface RelationMetrics {
  micro: Scores;
  macro: AveragedScores;
  perType: Record<string, Scores>;
}

export function relationMetrics(
  notes: readonly NoteRelations[],
  relationTypes: readonly Pick<RelationType, "name" | "directed">[],
): RelationMetrics {
  const counts = new ClassCounts();
  for (const note of notes) {
    const gold = relationKeys(note.gold, relationTypes);
    const pred = relationKeys(note.pred, relationTypes);
    for (const [key, type] of pred) counts.add(type, gold.has(key) ? "tp" : "fp");
    for (const [key, type] of gold) if (!pred.has(key)) counts.add(type, "fn");
  }
  const perType = counts.scores();
  const types = Object.values(perType);
  const mean = (pick: (s: Scores) => number) => (types.length > 0 ? types.reduce((sum, s) => sum + pick(s), 0) / types.length : 0);
  return {
    micro: scoresFromCounts(counts.total()),
    macro: { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) },
    perType,
  };
}

/** Each relation as a key naming its type and both entities (in a fixed order when undirected) → its type. */
function relationKeys(side: SpansAndRelations, relationTypes: readonly Pick<RelationType, "name" | "directed">[]): Map<string, string> {
  const spanKey = (index: number) => {
    const span = side.spans[index];
    return `${span.start}:${span.end}:${span.type}`;
  };
  const keys = new Map<string, string>();
  for (const relation of side.relations ?? []) {
    let ends = [spanKey(relation.from), spanKey(relation.to)];
    if (!isDirected(relationTypes, relation.type)) ends = ends.sort();
    keys.set(JSON.stringify([relation.type, ...ends]), relation.type);
  }
  return keys;
}
