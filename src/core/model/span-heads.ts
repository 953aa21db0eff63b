// Heads over spans of the encoder's hidden state: entity attributes and relations between
// entities. transformers has no class for either, so the names below are our own, chosen
// as a PyTorch module would spell them (see SPAN_HEAD_LOADING for how to load them).
//
//   span representation  the mean of the span's tokens' hidden states, computed as a pooling
//                        matrix P (B, E, T) with 1/k on the span's k tokens: P @ hidden. One
//                        MatMul, whose gradient the builder has; no index ops, and a symbolic
//                        span count E, so one graph serves any number of spans per batch.
//   attributes           one Linear H → values per (entity type, attribute); the logits of all
//                        attributes side by side (B, E, ΣV), each softmaxed on its own.
//   relations            [from; to; from ⊙ to] (B, R, 3H) → Linear → (B, R, 1 + K): class 0 is
//                        "no relation", then the relation types.
//
// Shapes: B batch, T tokens, H hidden, E spans, R pairs, V an attribute's values, K relation types.

import { ShapeError } from "../errors.ts";
import { type Graph, type Value, concat, linear, matmul, mul } from "../onnx/index.ts";
import type { EncoderConfig } from "./config.ts";
import { type EncoderInputs, type EncoderOptions, type ParamSource, EncoderContext, encode } from "./encoder.ts";
import { type LoraConfig, listLoraParams } from "./lora.ts";
import { type ParamSpec, listParams } from "./names.ts";

/** One attribute the model predicts, for the entities of one type (schema: EntityType.attributes). */
export interface AttributeTarget {
  entityType: string;
  name: string;
  values: readonly string[];
}

/** Graph input names of the pooling matrices, in training and in the exported model. */
export const SPAN_WEIGHTS = "span_weights";
export const PAIR_FROM = "pair_from";
export const PAIR_TO = "pair_to";

/** The label of entity pairs that are not related: class 0 of the relation head. */
export const NO_RELATION = "none";

export type SpanHead =
  | { kind: "attributes"; attributes: readonly AttributeTarget[] }
  /** labels[0] is NO_RELATION, then the relation types. */
  | { kind: "relations"; labels: readonly string[] };

/**
 * How to load an attribute or relation model outside the app, for its model card: the
 * folder (writeSpanModelFolder) is a bare encoder plus plain Linear layers.
 */
export const SPAN_HEAD_LOADING = `transformers has no class for this head. config.json names the bare encoder
(architectures: *Model), so AutoModel.from_pretrained(folder) loads the encoder and skips
the head tensors, which model.safetensors holds as plain Linear layers (PyTorch layout):
  attribute_classifiers.{i}.weight / .bias   (values_i, hidden), attribute i of config.json's clinical_adapt_head.attributes
  relation_classifier.weight / .bias         (labels, 3 * hidden), labels in config.json's id2label (0 = "none")
A span is the mean of its tokens' last hidden states; a pair of spans is [from, to, from * to].
The app decodes a pair's relation as the best of "none" and the relation types whose from/to
entity types fit the pair's (adaptation.json: task.choice.relationTypes).
onnx/model.onnx takes input_ids, attention_mask (token_type_ids for BERT) and span_weights
(batch, spans, tokens) or pair_from and pair_to (batch, pairs, tokens), each row a span's
mean-pooling weights, and outputs logits (batch, spans, sum of values) or (batch, pairs, labels).`;

/** The head's own parameters (newly initialised: part "head"). */
export function spanHeadParams(config: EncoderConfig, head: SpanHead): ParamSpec[] {
  const H = config.hiddenSize;
  const specs: ParamSpec[] = [];
  if (head.kind === "attributes") {
    head.attributes.forEach((attribute, i) => {
      if (attribute.values.length < 2) {
        throw new ShapeError(`span head: attribute ${attribute.entityType}.${attribute.name} needs at least 2 values, got ${attribute.values.length}`);
      }
      specs.push(
        { name: `attribute_classifiers.${i}.weight`, shape: [attribute.values.length, H], role: "head.attribute.weight", init: "normal", part: "head" },
        { name: `attribute_classifiers.${i}.bias`, shape: [attribute.values.length], role: "head.attribute.bias", init: "zeros", part: "head" },
      );
    });
  } else {
    if (head.labels[0] !== NO_RELATION || head.labels.length < 2) {
      throw new ShapeError(`span head: expected relation labels "${NO_RELATION}" and at least one type, got ${JSON.stringify(head.labels)}`);
    }
    specs.push(
      { name: "relation_classifier.weight", shape: [head.labels.length, 3 * H], role: "head.relation.weight", init: "normal", part: "head" },
      { name: "relation_classifier.bias", shape: [head.labels.length], role: "head.relation.bias", init: "zeros", part: "head" },
    );
  }
  return specs;
}

/** Every parameter of the span classifier: the bare encoder's, the head's, then LoRA's. */
export function listSpanModelParams(config: EncoderConfig, head: SpanHead, lora?: LoraConfig): ParamSpec[] {
  return [...listParams(config, "none"), ...spanHeadParams(config, head), ...(lora ? listLoraParams(config, lora) : [])];
}

/** Where each attribute's logits start in the last axis, and the total (offsets[attributes.length]). */
export function attributeOffsets(attributes: readonly AttributeTarget[]): number[] {
  const offsets = [0];
  for (const attribute of attributes) offsets.push(offsets.at(-1)! + attribute.values.length);
  return offsets;
}

/** Pooling matrices: `spans` (B, E, T) for attributes; `from` and `to` (B, R, T) for relations. */
export type SpanPooling = { spans: Value } | { from: Value; to: Value };

function classifierProb(ctx: EncoderContext): number {
  const d = ctx.options.dropout;
  return d ? (d.classifierProb ?? d.hiddenProb) : 0;
}

/**
 * The head on a hidden state (B, T, H): logits (B, E, ΣV) for attributes or (B, R, 1 + K)
 * for relations. `param` gives the head's parameters by spec (spanHeadParams' order);
 * `drop` is the dropout before each Linear (the identity at inference).
 */
export function spanHeadLogits(
  hidden: Value,
  head: SpanHead,
  pooling: SpanPooling,
  param: (spec: ParamSpec) => Value,
  specs: readonly ParamSpec[],
  drop: (x: Value) => Value = (x) => x,
): Value {
  const classify = (x: Value, i: number) => linear(drop(x), param(specs[2 * i]), param(specs[2 * i + 1]), "out_in");
  if (head.kind === "attributes") {
    if (!("spans" in pooling)) throw new ShapeError("span head: attributes need a `spans` pooling matrix");
    const pooled = matmul(pooling.spans, hidden); // (B, E, H)
    const logits = head.attributes.map((_, i) => classify(pooled, i)); // each (B, E, V)
    return logits.length === 1 ? logits[0] : concat(logits, -1); // (B, E, ΣV)
  }
  if (!("from" in pooling)) throw new ShapeError("span head: relations need `from` and `to` pooling matrices");
  const from = matmul(pooling.from, hidden); // (B, R, H)
  const to = matmul(pooling.to, hidden); // (B, R, H)
  const pair = concat([from, to, mul(from, to)], -1); // (B, R, 3H)
  return classify(pair, 0); // (B, R, 1 + K)
}

/** Encoder and span head: logits as spanHeadLogits, and the hidden state (B, T, H). */
export function buildSpanClassifier(
  g: Graph,
  config: EncoderConfig,
  params: ParamSource,
  inputs: EncoderInputs,
  head: SpanHead,
  pooling: SpanPooling,
  options: EncoderOptions = {},
): { logits: Value; hidden: Value } {
  const ctx = new EncoderContext(g, config, "none", params, options);
  const hidden = encode(ctx, inputs); // (B, T, H)
  const p = classifierProb(ctx);
  const logits = spanHeadLogits(hidden, head, pooling, (spec) => ctx.fetch(spec), spanHeadParams(config, head), (x) => ctx.dropout(x, p));
  return { logits, hidden };
}
