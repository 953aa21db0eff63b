// Batches for the document, attribute and relation models (task-models.ts). The encoder's
// part is padBatch's (right-padded rows, one position row, filler rows attending to their
// first slot); each task adds its tensors under the objective's input names. Spans and
// pairs are padded to the row with the most, with all-zero pooling rows and label -100, so
// a padded span pools nothing and costs nothing.

import { ShapeError } from "../errors.ts";
import type { EncoderConfig } from "../model/config.ts";
import { seededRandom } from "../model/random.ts";
import { IGNORE_INDEX } from "../onnx/index.ts";
import type { HostTensor } from "../onnx/run.ts";
import { DEFAULT_BUCKETS, bucketFor, padBatch } from "./batches.ts";
import { ATTRIBUTE_LABELS, DOC_LABELS, DOC_TARGETS, DOC_WEIGHTS, PAIR_FROM, PAIR_TO, RELATION_LABELS, SPAN_WEIGHTS } from "./task-models.ts";

/** A batch for a model with an Objective: the encoder inputs, and the task's tensors by input name. */
export interface TaskBatch {
  rows: number;
  length: number;
  /** Rows holding an example; the others are filler. */
  examples: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  positionIds: BigInt64Array;
  task: Record<string, HostTensor>;
}

/** One window of a document with its label: a value id (single choice) or the ids of the values that hold (multiple). */
export interface DocumentExample {
  ids: ArrayLike<number>;
  label: number | readonly number[];
}

/** A span by the positions of its tokens in `ids`. */
export type TokenSpan = readonly number[];

/** One window with entity spans and, per span, a value id for each attribute (-100: not applicable). */
export interface SpanExample {
  ids: ArrayLike<number>;
  spans: { tokens: TokenSpan; labels: readonly number[] }[];
}

/** One window with candidate entity pairs and their relation label (0: none). */
export interface PairExample {
  ids: ArrayLike<number>;
  pairs: { from: TokenSpan; to: TokenSpan; label: number }[];
}

function encoderPart(config: EncoderConfig, examples: readonly { ids: ArrayLike<number> }[], rows: number, length: number): Omit<TaskBatch, "task"> {
  const tokens = examples.map((ex) => ({ ids: ex.ids, labels: new Array<number>(ex.ids.length).fill(IGNORE_INDEX) }));
  const { inputIds, attentionMask, positionIds } = padBatch(config, tokens, rows, length);
  return { rows, length, examples: examples.length, inputIds, attentionMask, positionIds };
}

/** Mean pooling weights of a span over `length` positions, written at `out[at …]`. */
function writePooling(out: Float32Array, at: number, tokens: TokenSpan, length: number, what: string): void {
  if (tokens.length === 0) throw new ShapeError(`${what}: a span has no tokens, so it has nothing to pool`);
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= length) throw new ShapeError(`${what}: token position ${t} is outside the batch length ${length}`);
    out[at + t] += 1 / tokens.length;
  }
}

export function padDocumentBatch(
  config: EncoderConfig,
  examples: readonly DocumentExample[],
  rows: number,
  length: number,
  multiLabel: boolean,
): TaskBatch {
  const L = config.numLabels;
  const check = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= L) throw new ShapeError(`padDocumentBatch: label id ${id} is not one of the model's ${L} labels`);
  };
  if (!multiLabel) {
    const labels = new BigInt64Array(rows).fill(BigInt(IGNORE_INDEX));
    examples.forEach((ex, r) => {
      if (typeof ex.label !== "number") throw new ShapeError("padDocumentBatch: a single-choice label must be one value id");
      check(ex.label);
      labels[r] = BigInt(ex.label);
    });
    return { ...encoderPart(config, examples, rows, length), task: { [DOC_LABELS]: { dtype: "int64", dims: [rows], data: labels } } };
  }
  const targets = new Float32Array(rows * L);
  const weights = new Float32Array(rows);
  examples.forEach((ex, r) => {
    for (const id of typeof ex.label === "number" ? [ex.label] : ex.label) {
      check(id);
      targets[r * L + id] = 1;
    }
    weights[r] = 1;
  });
  return {
    ...encoderPart(config, examples, rows, length),
    task: {
      [DOC_TARGETS]: { dtype: "float32", dims: [rows, L], data: targets },
      [DOC_WEIGHTS]: { dtype: "float32", dims: [rows], data: weights },
    },
  };
}

/** `attributes`: how many attributes the model has (the labels per span). */
export function padSpanBatch(config: EncoderConfig, examples: readonly SpanExample[], rows: number, length: number, attributes: number): TaskBatch {
  const E = Math.max(1, ...examples.map((ex) => ex.spans.length));
  const weights = new Float32Array(rows * E * length);
  const labels = new BigInt64Array(rows * E * attributes).fill(BigInt(IGNORE_INDEX));
  examples.forEach((ex, r) => {
    ex.spans.forEach((span, e) => {
      writePooling(weights, (r * E + e) * length, span.tokens, length, "padSpanBatch");
      if (span.labels.length !== attributes) throw new ShapeError(`padSpanBatch: a span has ${span.labels.length} labels; expected one per attribute (${attributes})`);
      span.labels.forEach((label, a) => (labels[(r * E + e) * attributes + a] = BigInt(label)));
    });
  });
  return {
    ...encoderPart(config, examples, rows, length),
    task: {
      [SPAN_WEIGHTS]: { dtype: "float32", dims: [rows, E, length], data: weights },
      [ATTRIBUTE_LABELS]: { dtype: "int64", dims: [rows, E, attributes], data: labels },
    },
  };
}

export function padPairBatch(config: EncoderConfig, examples: readonly PairExample[], rows: number, length: number): TaskBatch {
  const R = Math.max(1, ...examples.map((ex) => ex.pairs.length));
  const from = new Float32Array(rows * R * length);
  const to = new Float32Array(rows * R * length);
  const labels = new BigInt64Array(rows * R).fill(BigInt(IGNORE_INDEX));
  examples.forEach((ex, r) => {
    ex.pairs.forEach((pair, p) => {
      writePooling(from, (r * R + p) * length, pair.from, length, "padPairBatch");
      writePooling(to, (r * R + p) * length, pair.to, length, "padPairBatch");
      labels[r * R + p] = BigInt(pair.label);
    });
  });
  return {
    ...encoderPart(config, examples, rows, length),
    task: {
      [PAIR_FROM]: { dtype: "float32", dims: [rows, R, length], data: from },
      [PAIR_TO]: { dtype: "float32", dims: [rows, R, length], data: to },
      [RELATION_LABELS]: { dtype: "int64", dims: [rows, R], data: labels },
    },
  };
}

export interface TaskBatchOptions {
  batchSize: number;
  buckets?: readonly number[];
  /** Shuffle with this seed (training); in order without (evaluation). */
  shuffle?: { seed: number; epoch: number };
}

/**
 * Examples cut into batches of `batchSize` rows, each padded to the smallest bucket that
 * holds its longest example, so a bucket's step graph serves it. `indices` say which
 * example each row holds.
 */
export function taskBatches<T extends { ids: ArrayLike<number> }>(
  examples: readonly T[],
  options: TaskBatchOptions,
  pad: (group: T[], rows: number, length: number) => TaskBatch,
): { batch: TaskBatch; indices: number[] }[] {
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  let order = examples.map((_, i) => i);
  if (options.shuffle) {
    // Shuffled within buckets, so a batch mixes no short example into a long bucket.
    const random = seededRandom((Math.imul(options.shuffle.seed, 0x27d4eb2d) ^ (options.shuffle.epoch + 1)) | 0);
    const keyed = order.map((i) => ({ i, bucket: bucketFor(examples[i].ids.length, buckets), key: random.uniform() }));
    order = keyed.sort((a, b) => a.bucket - b.bucket || a.key - b.key).map((k) => k.i);
  }
  const out: { batch: TaskBatch; indices: number[] }[] = [];
  for (let i = 0; i < order.length; i += options.batchSize) {
    const indices = order.slice(i, i + options.batchSize);
    const length = bucketFor(Math.max(...indices.map((k) => examples[k].ids.length)), buckets);
    out.push({ batch: pad(indices.map((k) => examples[k]), options.batchSize, length), indices });
  }
  if (options.shuffle) {
    const random = seededRandom(options.shuffle.seed + 7919 * (options.shuffle.epoch + 1));
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random.uniform() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return out;
}
