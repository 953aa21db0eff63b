// The exported model: a forward-only ONNX graph with the weights as initializers, shaped
// as Optimum exports *ForTokenClassification, so transformers.js and onnxruntime load it
// unchanged: inputs input_ids, attention_mask (and token_type_ids for BERT), int64
// (batch_size, sequence_length); output `logits`. Position ids are computed inside the
// graph, because transformers.js feeds only those inputs.

import { ShapeError } from "../errors.ts";
import {
  Graph,
  type Primitive,
  type Value,
  add,
  cast,
  equal,
  gather,
  mul,
  not,
  shapeOf,
  tensor,
  toModelProto,
  unsqueeze,
} from "../onnx/index.ts";
import type { EncoderConfig, HeadKind } from "./config.ts";
import { buildSequenceClassifier, buildTokenClassifier, type ParamSource } from "./encoder.ts";
import type { ParamSpec } from "./names.ts";
import { PAIR_FROM, PAIR_TO, SPAN_WEIGHTS, type SpanHead, buildSpanClassifier } from "./span-heads.ts";
import type { Weight } from "./weights.ts";

// Forward-only ops the builder lacks; integer-valued, so they need no gradient.
const CumSum: Primitive = { opType: "CumSum", backward: null };
const Range: Primitive = { opType: "Range", backward: null };

export interface InferenceModelOptions {
  head?: HeadKind;
}

/** Forward-only ONNX bytes of the classifier with these float32 weights (merge LoRA first: mergeLora). */
export function buildInferenceModel(
  config: EncoderConfig,
  weights: ReadonlyMap<string, Float32Array | Weight>,
  options: InferenceModelOptions = {},
): Uint8Array {
  const head = options.head ?? "token";
  const g = new Graph(`${config.modelType}_for_${head}_classification`);
  const dims = ["batch_size", "sequence_length"];
  const inputIds = g.input("input_ids", "int64", dims); // (B, T)
  const attentionMask = g.input("attention_mask", "int64", dims); // (B, T)
  const tokenTypeIds = config.family === "bert" ? g.input("token_type_ids", "int64", dims) : undefined; // (B, T)
  const positionIds = positionIdsInGraph(config, inputIds); // (B, T) or (1, T)
  const params: ParamSource = (spec) => g.initializer(spec.name, tensor("float32", spec.shape, weightData(weights, spec)));
  const inputs = { inputIds, attentionMask, tokenTypeIds, positionIds };
  const { logits } = (head === "token" ? buildTokenClassifier : buildSequenceClassifier)(g, config, params, inputs);
  g.output(logits, "logits");
  return toModelProto(g);
}

/**
 * Forward-only ONNX bytes of a span classifier (span-heads.ts): transformers.js's inputs
 * plus the pooling matrices, float32 (batch_size, num_spans | num_pairs, sequence_length),
 * each row the mean weights of a span's tokens; output `logits` (batch_size, num_spans,
 * ΣV) for attributes or (batch_size, num_pairs, 1 + K) for relations. No transformers
 * class runs it; onnxruntime does (see SPAN_HEAD_LOADING for Python).
 */
export function buildSpanInferenceModel(config: EncoderConfig, weights: ReadonlyMap<string, Float32Array | Weight>, head: SpanHead): Uint8Array {
  const g = new Graph(`${config.modelType}_for_${head.kind}`);
  const dims = ["batch_size", "sequence_length"];
  const inputIds = g.input("input_ids", "int64", dims); // (B, T)
  const attentionMask = g.input("attention_mask", "int64", dims); // (B, T)
  const tokenTypeIds = config.family === "bert" ? g.input("token_type_ids", "int64", dims) : undefined; // (B, T)
  const pooled = (name: string, count: string) => g.input(name, "float32", ["batch_size", count, "sequence_length"]);
  const pooling = head.kind === "attributes" ? { spans: pooled(SPAN_WEIGHTS, "num_spans") } : { from: pooled(PAIR_FROM, "num_pairs"), to: pooled(PAIR_TO, "num_pairs") };
  const params: ParamSource = (spec) => g.initializer(spec.name, tensor("float32", spec.shape, weightData(weights, spec)));
  const inputs = { inputIds, attentionMask, tokenTypeIds, positionIds: positionIdsInGraph(config, inputIds) };
  g.output(buildSpanClassifier(g, config, params, inputs, head, pooling).logits, "logits");
  return toModelProto(g);
}

/**
 * Position ids from input_ids, as transformers' forward makes them: BERT and DistilBERT
 * 0..T-1 (1, T); RoBERTa cumsum(ids != pad) * (ids != pad) + pad (B, T).
 */
export function positionIdsInGraph(config: EncoderConfig, inputIds: Value): Value {
  const g = inputIds.graph;
  const T = inputIds.shape[1];
  if (config.family === "roberta") {
    const real = cast(not(equal(inputIds, config.padTokenId)), "int64"); // (B, T)
    const counted = g.apply(CumSum, [real, g.constant(1, "int64")], [{ dtype: "int64", shape: real.shape }])[0]; // (B, T)
    return add(mul(counted, real), config.padTokenId); // (B, T)
  }
  const length = gather(shapeOf(inputIds), g.constant(1, "int64")); // ()
  const arange = g.apply(Range, [g.constant(0, "int64"), length, g.constant(1, "int64")], [{ dtype: "int64", shape: [T] }])[0]; // (T,)
  return unsqueeze(arange, [0]); // (1, T)
}

function weightData(weights: ReadonlyMap<string, Float32Array | Weight>, spec: ParamSpec): Float32Array {
  const w = weights.get(spec.name);
  if (!w) throw new ShapeError(`buildInferenceModel: expected a weight ${spec.name} (${spec.shape.join(", ")}), got none`);
  const data = w instanceof Float32Array ? w : w.data;
  const size = spec.shape.reduce((p, d) => p * d, 1);
  if (data.length !== size) {
    throw new ShapeError(`buildInferenceModel: expected ${size} values for ${spec.name} (${spec.shape.join(", ")}), got ${data.length}`);
  }
  return data;
}
