// The step models beyond token classification, each with its Objective (batch inputs and
// loss), trained by the same step graph and Trainer as NER:
//
//   documentModel   *ForSequenceClassification (transformers' own heads, heads.ts): one
//                   document label per model; single choice by softmax cross-entropy over
//                   `doc_labels` (B,), multiple choice by sigmoid BCE over `doc_targets` (B, L)
//                   (transformers' problem_type "multi_label_classification").
//   attributeModel  pooled entity spans → one softmax per (entity type, attribute); labels
//                   (B, E, A), -100 where the attribute does not apply or the span is filler.
//   relationModel   pooled entity pairs → "none" or a relation type; labels (B, R).
//
// The batch inputs are made by task-batches.ts, under the names exported here.

import { ShapeError } from "../errors.ts";
import type { EncoderConfig } from "../model/config.ts";
import { buildSequenceClassifier, listModelParams } from "../model/encoder.ts";
import type { LoraConfig } from "../model/lora.ts";
import {
  PAIR_FROM,
  PAIR_TO,
  SPAN_WEIGHTS,
  type SpanHead,
  attributeOffsets,
  buildSpanClassifier,
  listSpanModelParams,
} from "../model/span-heads.ts";

export { PAIR_FROM, PAIR_TO, SPAN_WEIGHTS };
import { type Value, add, binaryCrossEntropyWithLogits, div, slice, softmaxCrossEntropy, squeeze } from "../onnx/index.ts";
import type { DropoutOptions, ModelInputs, Objective, StepModel } from "./model.ts";

export const DOC_LABELS = "doc_labels";
export const DOC_TARGETS = "doc_targets";
export const DOC_WEIGHTS = "doc_weights";
export const ATTRIBUTE_LABELS = "attribute_labels";
export const RELATION_LABELS = "relation_labels";

/** Symbolic dims: the spans and pairs of a batch (padded to the row with the most). */
const SPANS = "spans";
const PAIRS = "pairs";

function encoderOptions(dropout: DropoutOptions | undefined, lora: LoraConfig | undefined) {
  return { ...(dropout ? { dropout } : {}), ...(lora ? { lora } : {}) };
}

function task(inputs: ModelInputs, name: string): Value {
  const value = inputs.task?.[name];
  if (!value) throw new ShapeError(`task model: the graph has no input ${name}`);
  return value;
}

export interface DocumentModelOptions {
  /** Several values may hold at once (DocumentLabelDef.multiple): sigmoid per value. */
  multiLabel: boolean;
  lora?: LoraConfig;
}

/** One document label (config.labels are its values) on the first token, as *ForSequenceClassification. */
export function documentModel(config: EncoderConfig, options: DocumentModelOptions): StepModel {
  const { multiLabel, lora } = options;
  const objective: Objective = multiLabel
    ? {
        inputs: [
          { name: DOC_TARGETS, dtype: "float32", shape: (B) => [B, config.numLabels], label: true },
          { name: DOC_WEIGHTS, dtype: "float32", shape: (B) => [B], label: true },
        ],
        loss: (logits, t) => binaryCrossEntropyWithLogits(logits, t[DOC_TARGETS], t[DOC_WEIGHTS]),
      }
    : {
        inputs: [{ name: DOC_LABELS, dtype: "int64", shape: (B) => [B], label: true }],
        loss: (logits, t) => softmaxCrossEntropy(logits, t[DOC_LABELS]),
      };
  return {
    config,
    specs: listModelParams(config, "sequence", lora),
    ...(lora ? { lora } : {}),
    objective,
    forward: (g, params, inputs, dropout) => buildSequenceClassifier(g, config, params, inputs, encoderOptions(dropout, lora)).logits, // (B, L)
  };
}

/**
 * Attributes of entity spans. The loss is the mean over attributes of each attribute's
 * cross-entropy over the spans it applies to (an attribute no span of the batch has adds 0).
 */
export function attributeModel(config: EncoderConfig, head: Extract<SpanHead, { kind: "attributes" }>, lora?: LoraConfig): StepModel {
  const offsets = attributeOffsets(head.attributes);
  const A = head.attributes.length;
  const objective: Objective = {
    inputs: [
      { name: SPAN_WEIGHTS, dtype: "float32", shape: (B, T) => [B, SPANS, T] },
      { name: ATTRIBUTE_LABELS, dtype: "int64", shape: (B) => [B, SPANS, A], label: true },
    ],
    loss: (logits, t) => {
      const losses = head.attributes.map((_, a) => {
        const own = slice(logits, [offsets[a]], [offsets[a + 1]], [2]); // (B, E, V)
        const labels = squeeze(slice(t[ATTRIBUTE_LABELS], [a], [a + 1], [2]), [2]); // (B, E)
        return softmaxCrossEntropy(own, labels); // ()
      });
      return div(losses.reduce((sum, l) => add(sum, l)), A); // ()
    },
  };
  return {
    config,
    specs: listSpanModelParams(config, head, lora),
    ...(lora ? { lora } : {}),
    objective,
    forward: (g, params, inputs, dropout) =>
      buildSpanClassifier(g, config, params, inputs, head, { spans: task(inputs, SPAN_WEIGHTS) }, encoderOptions(dropout, lora)).logits, // (B, E, ΣV)
  };
}

/** Relations between entity pairs: cross-entropy over "none" and the relation types. */
export function relationModel(config: EncoderConfig, head: Extract<SpanHead, { kind: "relations" }>, lora?: LoraConfig): StepModel {
  const objective: Objective = {
    inputs: [
      { name: PAIR_FROM, dtype: "float32", shape: (B, T) => [B, PAIRS, T] },
      { name: PAIR_TO, dtype: "float32", shape: (B, T) => [B, PAIRS, T] },
      { name: RELATION_LABELS, dtype: "int64", shape: (B) => [B, PAIRS], label: true },
    ],
    loss: (logits, t) => softmaxCrossEntropy(logits, t[RELATION_LABELS]),
  };
  return {
    config,
    specs: listSpanModelParams(config, head, lora),
    ...(lora ? { lora } : {}),
    objective,
    forward: (g, params, inputs, dropout) => {
      const pooling = { from: task(inputs, PAIR_FROM), to: task(inputs, PAIR_TO) };
      return buildSpanClassifier(g, config, params, inputs, head, pooling, encoderOptions(dropout, lora)).logits; // (B, R, 1 + K)
    },
  };
}
