// Composite ops: built from primitives, so they need no gradient code of their own.

import { ShapeError } from "../errors.ts";
import { type Value, assertDType, isFloat } from "./graph.ts";
import { add } from "./ops/add.ts";
import { cast } from "./ops/cast.ts";
import { concat } from "./ops/concat.ts";
import { fill, zerosLike } from "./ops/constant-of-shape.ts";
import { div } from "./ops/div.ts";
import { equal } from "./ops/equal.ts";
import { erf } from "./ops/erf.ts";
import { greaterOrEqual } from "./ops/greater-or-equal.ts";
import { logSoftmax } from "./ops/log-softmax.ts";
import { matmul } from "./ops/matmul.ts";
import { max } from "./ops/max.ts";
import { mul } from "./ops/mul.ts";
import { neg } from "./ops/neg.ts";
import { not } from "./ops/not.ts";
import { randomUniformLike } from "./ops/random-uniform-like.ts";
import { reduceSum } from "./ops/reduce-sum.ts";
import { sub } from "./ops/sub.ts";
import { tanh } from "./ops/tanh.ts";
import { transpose } from "./ops/transpose.ts";
import { unsqueeze } from "./ops/unsqueeze.ts";
import { where } from "./ops/where.ts";
import { formatShape, sameShape } from "./shape.ts";

/** GELU, erf form (BERT's "gelu"): x * (1 + erf(x / sqrt 2)) / 2. */
export function gelu(x: Value): Value {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** GELU, tanh form ("gelu_new", "gelu_pytorch_tanh"): x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2. */
export function geluTanh(x: Value): Value {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/**
 * x @ W + b. W is (in, out) by default; pass layout "out_in" for a weight stored as
 * PyTorch's nn.Linear does (out, in), which adds a Transpose (folded away by onnxruntime
 * when W is a frozen initializer).
 */
export function linear(x: Value, w: Value, b?: Value, layout: "in_out" | "out_in" = "in_out"): Value {
  const weight = layout === "out_in" ? transpose(w, [1, 0]) : w; // (in, out)
  const y = matmul(x, weight); // (..., out)
  return b ? add(y, b) : y;
}

/** The label that marks a token the loss ignores (Hugging Face's convention). */
export const IGNORE_INDEX = -100;

/**
 * Softmax cross-entropy averaged over the tokens whose label is not -100, each weighted:
 *   loss = sum_i w_i ce_i / sum_i w_i   over i with label_i != -100
 * logits (..., C) with a static C, labels (...) int64, weights (...) like logits' dtype
 * (all 1 when omitted). A label outside [0, C) other than -100 contributes ce = 0 but
 * still counts in the denominator. When no token counts the loss is 0, not NaN.
 */
export function softmaxCrossEntropy(logits: Value, labels: Value, weights?: Value): Value {
  const op = "SoftmaxCrossEntropy";
  assertDType(op, "labels", labels, ["int64"]);
  if (!isFloat(logits.dtype)) throw new ShapeError(`${op}: expected float logits, got ${logits.dtype}`);
  const classes = logits.shape[logits.rank - 1];
  if (typeof classes !== "number" || !sameShape(labels.shape, logits.shape.slice(0, -1))) {
    throw new ShapeError(
      `${op}: expected logits (..., C) with static C and labels of its leading shape, got logits ${formatShape(logits.shape)} and labels ${formatShape(labels.shape)}`,
    );
  }
  if (weights && !sameShape(weights.shape, labels.shape)) {
    throw new ShapeError(`${op}: expected weights of shape ${formatShape(labels.shape)}, got ${formatShape(weights.shape)}`);
  }
  const g = logits.graph;
  const dtype = logits.dtype;
  const logp = logSoftmax(logits); // (..., C)
  const classIds = g.constant(Array.from({ length: classes }, (_, c) => c), "int64", [classes]); // (C,)
  const oneHot = cast(equal(unsqueeze(labels, [-1]), classIds), dtype); // (..., C), all 0 for -100
  const ce = neg(reduceSum(mul(oneHot, logp), [-1])); // (...)
  const counted = cast(not(equal(labels, IGNORE_INDEX)), dtype); // (...)
  const w = weights ? mul(weights, counted) : counted; // (...)
  const total = reduceSum(mul(w, ce)); // ()
  const norm = max(reduceSum(w), 1e-12); // ()
  return div(total, norm);
}

/**
 * Sigmoid binary cross-entropy on logits, as torch's BCEWithLogitsLoss (multi-label
 * classification): each (row, class) element costs -(y log σ(x) + (1 - y) log σ(-x)), and
 *   loss = sum_r w_r sum_c ce_rc / (C · sum_r w_r)
 * which is the mean over every element when all w are 1. logits (..., C) with a static C,
 * targets like logits (0/1, or soft), rowWeights (...) (0 leaves a filler row out).
 * log σ(x) and log σ(-x) come from one LogSoftmax over [0, x], which stays finite for any x.
 */
export function binaryCrossEntropyWithLogits(logits: Value, targets: Value, rowWeights?: Value): Value {
  const op = "BinaryCrossEntropyWithLogits";
  if (!isFloat(logits.dtype)) throw new ShapeError(`${op}: expected float logits, got ${logits.dtype}`);
  const classes = logits.shape[logits.rank - 1];
  if (typeof classes !== "number" || targets.dtype !== logits.dtype || !sameShape(targets.shape, logits.shape)) {
    throw new ShapeError(
      `${op}: expected logits (..., C) with static C and targets of the same shape and dtype, got logits ${logits} and targets ${targets}`,
    );
  }
  if (rowWeights && !sameShape(rowWeights.shape, logits.shape.slice(0, -1))) {
    throw new ShapeError(`${op}: expected row weights of shape ${formatShape(logits.shape.slice(0, -1))}, got ${formatShape(rowWeights.shape)}`);
  }
  const x = unsqueeze(logits, [-1]); // (..., C, 1)
  const y = unsqueeze(targets, [-1]); // (..., C, 1)
  const logSigmoids = logSoftmax(concat([zerosLike(x), x], -1)); // (..., C, 2): log σ(-x), log σ(x)
  const ce = neg(reduceSum(mul(concat([sub(1, y), y], -1), logSigmoids), [-1, -2])); // (...)
  const w = rowWeights ?? fill(ce, 1); // (...)
  const total = reduceSum(mul(w, ce)); // ()
  const norm = max(mul(reduceSum(w), classes), 1e-12); // ()
  return div(total, norm);
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by
 * 1/(1-p). The mask comes from `noise` when given (uniform [0, 1), broadcastable to x),
 * else from RandomUniformLike(x) with the attribute `seed`.
 *
 * Replaying a step: RandomUniformLike's seed is an attribute, fixed when the graph is
 * built, and onnxruntime advances its generator on every run of a session. So a session
 * built with seed s yields the same mask sequence each time it is created: the trainer
 * should derive s from (run seed, step at which the session was created) and rebuild the
 * step graph on resume, which makes a run reproducible for the same resume points. For a
 * bit-exact replay of one step, feed `noise` as a graph input from a seeded generator.
 */
export function dropout(x: Value, p: number, opts: { seed?: number; noise?: Value } = {}): Value {
  if (!(p >= 0 && p < 1)) throw new ShapeError(`Dropout: expected 0 <= p < 1, got ${p}`);
  if (p === 0) return x;
  const u = opts.noise ?? randomUniformLike(x, { seed: opts.seed });
  const keep = greaterOrEqual(u, p); // bool, broadcastable to x
  const scale = where(keep, x.graph.constant(1 / (1 - p), x.dtype), 0);
  return mul(x, scale);
}
