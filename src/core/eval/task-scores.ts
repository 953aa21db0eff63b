// Scores of an attribute, relation or document-label model on annotated notes, with the
// metrics of attribute-metrics.ts, relation-metrics.ts and label-metrics.ts. The model is
// given the notes' own (gold) entities, so attribute and relation scores measure the head
// alone: every gold entity is "found", and attributes are scored on all of them.
//
// One summary per task for the Train step's dev curve and for ranking epochs:
//   attributes  F1 = mean over attributes of the per-value macro-F1; P = R = accuracy over
//               every (entity, attribute) the schema defines;
//   relations   strict micro P/R/F1;
//   document    macro-F1 over the label's values; P/R micro over (note, value) decisions.

import type { DocumentLabels, Span } from "../corpus/types.ts";
import type { EntityType } from "../schema/types.ts";
import type { AnnotatedNote } from "../train/task-examples.ts";
import type { TaskChoice, TaskPrediction } from "../train/task-train.ts";
import type { TrainTask } from "../train/tasks.ts";
import { type AttributeScores, attributeMetrics } from "./attribute-metrics.ts";
import { type LabelScores, labelMetrics } from "./label-metrics.ts";
import { type RelationMetrics, relationMetrics } from "./relation-metrics.ts";

export interface TaskModelScores {
  modelId: string;
  name: string;
  scores: TaskScores;
}

/** An attribute, relation or document-label model against its source on the gold notes (task-compare.ts). */
export interface TaskComparison {
  format: "clinical-adapt/task-comparison";
  task: TrainTask;
  choice: TaskChoice;
  goldNotes: number;
  /** Gold notes without a reference annotation, left out. */
  skipped: number;
  /** Attributes and relations were predicted on the gold entities (`adapted`, `source`). */
  givenGoldEntities: boolean;
  /** The adapted model again, on the entities an entity model found: scores end to end. */
  endToEnd: { entityModelId: string; entityModelName: string; scores: TaskScores } | null;
  adapted: TaskModelScores;
  /** Null when the source model has no head for this task; `sourceNote` says why. */
  source: TaskModelScores | null;
  sourceNote: string | null;
  createdAt: number;
}

export function isTaskComparison(metrics: unknown): metrics is TaskComparison {
  return (metrics as TaskComparison | null)?.format === "clinical-adapt/task-comparison";
}

export interface TaskSummary {
  f1: number;
  precision: number;
  recall: number;
}

export type TaskScores =
  | { kind: "attributes"; summary: TaskSummary; attributes: Record<string, AttributeScores> }
  | { kind: "relations"; summary: TaskSummary; relations: RelationMetrics }
  | { kind: "document"; summary: TaskSummary; labels: Record<string, LabelScores> };

/** The entity types with the attributes of an attribute task (what attributeMetrics reads). */
export function entityTypesOf(task: Extract<TaskChoice, { kind: "attributes" }>): EntityType[] {
  const types = new Map<string, EntityType>();
  for (const target of task.attributes) {
    const type = types.get(target.entityType) ?? { name: target.entityType, color: "", definition: "", examples: [], attributes: [] };
    type.attributes!.push({ name: target.name, values: [...target.values], ...(target.default === undefined ? {} : { default: target.default }) });
    types.set(target.entityType, type);
  }
  return [...types.values()];
}

/** The gold spans with the predicted attributes in place of their own (none where the model gave none). */
function withPredictedAttributes(spans: readonly Span[], predicted: Map<number, Record<string, string>>): Span[] {
  return spans.map((span, i) => {
    const { attributes: _gold, ...rest } = span;
    const values = predicted.get(i);
    return values && Object.keys(values).length > 0 ? { ...rest, attributes: values } : rest;
  });
}

/**
 * Scores of a task's predictions against the gold notes. The prediction was made on the
 * gold entities, or, end to end, on `predictedSpans` (an entity model's, per note), which
 * its attribute indexes and relations then point into.
 */
export function scoreTask(task: TaskChoice, gold: readonly AnnotatedNote[], prediction: TaskPrediction, predictedSpans?: readonly (readonly Span[])[]): TaskScores {
  if (prediction.kind !== task.kind) throw new Error(`scoreTask: a ${prediction.kind} prediction for a ${task.kind} task`);
  const spansOf = (i: number): readonly Span[] => predictedSpans?.[i] ?? gold[i].spans;
  switch (prediction.kind) {
    case "attributes": {
      const types = entityTypesOf(task as Extract<TaskChoice, { kind: "attributes" }>);
      const attributes = attributeMetrics(
        gold.map((note, i) => ({ gold: note.spans, pred: withPredictedAttributes(spansOf(i), prediction.attributes[i]) })),
        types,
      );
      const scores = Object.values(attributes);
      const matched = scores.reduce((sum, s) => sum + s.matched, 0);
      const accuracy = matched === 0 ? 0 : scores.reduce((sum, s) => sum + s.accuracy * s.matched, 0) / matched;
      const f1 = scores.length === 0 ? 0 : scores.reduce((sum, s) => sum + s.macroF1, 0) / scores.length;
      return { kind: "attributes", summary: { f1, precision: accuracy, recall: accuracy }, attributes };
    }
    case "relations": {
      const relationTypes = (task as Extract<TaskChoice, { kind: "relations" }>).relationTypes;
      const relations = relationMetrics(
        gold.map((note, i) => ({ gold: { spans: note.spans, relations: note.relations ?? [] }, pred: { spans: spansOf(i), relations: prediction.relations[i] } })),
        relationTypes,
      );
      return { kind: "relations", summary: { f1: relations.micro.f1, precision: relations.micro.precision, recall: relations.micro.recall }, relations };
    }
    case "document": {
      const label = (task as Extract<TaskChoice, { kind: "document" }>).label;
      const labels = labelMetrics(
        gold.map((note, i) => ({ gold: note.labels ?? {}, pred: prediction.labels[i] ?? ({} as DocumentLabels) })),
        [label],
      );
      const scores = labels[label.name];
      return { kind: "document", summary: { f1: scores.macroF1, precision: scores.micro.precision, recall: scores.micro.recall }, labels };
    }
  }
}

// The rows of the Evaluate step's table and the model card's, one line per number, named as
// the paper reports them, so source and adapted sit side by side.
export interface ScoreRow {
  /** Stable key (also the row's test id). */
  key: string;
  label: string;
  value: number;
}

export function taskScoreRows(scores: TaskScores): ScoreRow[] {
  const rows: ScoreRow[] = [];
  const add = (key: string, label: string, value: number) => rows.push({ key, label, value });
  switch (scores.kind) {
    case "attributes":
      for (const [name, s] of Object.entries(scores.attributes)) {
        add(`${name}:accuracy`, `${name}: accuracy (${s.matched} entities)`, s.accuracy);
        add(`${name}:macro-f1`, `${name}: macro-F1`, s.macroF1);
        for (const [value, v] of Object.entries(s.perValue)) add(`${name}:${value}`, `${name} = ${value}: F1`, v.f1);
        add(`${name}:end-to-end-f1`, `${name}: entity and value right, F1 (micro)`, s.endToEnd.micro.f1);
      }
      break;
    case "relations": {
      const r = scores.relations;
      add("precision", "precision (strict, micro)", r.micro.precision);
      add("recall", "recall (strict, micro)", r.micro.recall);
      add("f1", "F1 (strict, micro)", r.micro.f1);
      add("macro-f1", "F1 (macro over types)", r.macro.f1);
      for (const [type, s] of Object.entries(r.perType)) add(`type:${type}`, `${type}: F1`, s.f1);
      break;
    }
    case "document":
      for (const [name, s] of Object.entries(scores.labels)) {
        add(`${name}:accuracy`, `${name}: accuracy (${s.notes} notes)`, s.accuracy);
        add(`${name}:macro-f1`, `${name}: macro-F1`, s.macroF1);
        for (const [value, v] of Object.entries(s.perValue)) add(`${name}:${value}`, `${name} = ${value}: F1`, v.f1);
      }
      break;
  }
  return rows;
}
