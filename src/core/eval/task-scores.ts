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
import { type AttributeScores, attributeMetrics } from "./attribute-metrics.ts";
import { type LabelScores, labelMetrics } from "./label-metrics.ts";
import { type RelationMetrics, relationMetrics } from "./relation-metrics.ts";

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

export function scoreTask(task: TaskChoice, gold: readonly AnnotatedNote[], prediction: TaskPrediction): TaskScores {
  if (prediction.kind !== task.kind) throw new Error(`scoreTask: a ${prediction.kind} prediction for a ${task.kind} task`);
  switch (prediction.kind) {
    case "attributes": {
      const types = entityTypesOf(task as Extract<TaskChoice, { kind: "attributes" }>);
      const attributes = attributeMetrics(
        gold.map((note, i) => ({ gold: note.spans, pred: withPredictedAttributes(note.spans, prediction.attributes[i]) })),
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
        gold.map((note, i) => ({ gold: { spans: note.spans, relations: note.relations ?? [] }, pred: { spans: note.spans, relations: prediction.relations[i] } })),
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
