// Tokenized examples → padded batches. Each example goes to the smallest length bucket
// that holds it (64/128/256/512), so one step graph (one session) serves a bucket; every
// batch has exactly `batchSize` rows, the last batch of a bucket being filled with inert
// rows (labels -100, weight 0) so the graph's shapes stay static. The order is shuffled
// with a seeded generator per epoch, so (seed, epoch, index) names a batch for resuming.

import type { EncoderConfig } from "../model/config.ts";
import { seededRandom } from "../model/random.ts";
import { IGNORE_INDEX } from "../onnx/index.ts";

export const DEFAULT_BUCKETS: readonly number[] = [64, 128, 256, 512];

export interface TokenizedExample {
  /** Token ids including special tokens ([CLS] … [SEP]). */
  ids: ArrayLike<number>;
  /** Label id per token; -100 where the loss ignores the token (specials, continuation pieces). */
  labels: ArrayLike<number>;
  /** Loss weight per token (e.g. lower for uncertain LLM labels); 1 when omitted. */
  weights?: ArrayLike<number>;
}

export interface Batch {
  /** Rows and the bucket length: all tensors are (rows, length), row-major. */
  rows: number;
  length: number;
  /** Rows holding an example; the others are filler. */
  examples: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Position ids (1, length), one row for all rows: see positionRow. */
  positionIds: BigInt64Array;
  labels: BigInt64Array;
  labelWeights: Float32Array;
  /** Tokens whose label counts (not -100, weight > 0). */
  labelledTokens: number;
}

export interface BatchOptions {
  batchSize: number;
  buckets?: readonly number[];
}

/** The smallest bucket that holds `tokens`; examples longer than the largest must be windowed first. */
export function bucketFor(tokens: number, buckets: readonly number[] = DEFAULT_BUCKETS): number {
  const bucket = buckets.find((b) => b >= tokens);
  if (bucket === undefined) {
    throw new RangeError(`bucketFor: an example of ${tokens} tokens exceeds the largest bucket (${buckets[buckets.length - 1]}); split it into windows first`);
  }
  return bucket;
}

/**
 * Position ids for right-padded rows, shared by the batch: positionOffset + t (0 … T-1 for
 * BERT and DistilBERT, padding_idx + 1 + t for RoBERTa). transformers gives RoBERTa's pads
 * padding_idx instead, but pads are neither attended nor labelled, so no real token's
 * output or gradient depends on what they get. Token types are not fed: type 0 throughout.
 */
export function positionRow(config: EncoderConfig, length: number): BigInt64Array {
  return BigInt64Array.from({ length }, (_, t) => BigInt(config.positionOffset + t));
}

/** Pads examples (at most `rows`) into one batch of `rows` × `length`. */
export function padBatch(config: EncoderConfig, examples: readonly TokenizedExample[], rows: number, length: number): Batch {
  const n = rows * length;
  const inputIds = new BigInt64Array(n).fill(BigInt(config.padTokenId));
  const attentionMask = new BigInt64Array(n);
  const labels = new BigInt64Array(n).fill(BigInt(IGNORE_INDEX));
  const labelWeights = new Float32Array(n);
  let labelledTokens = 0;
  if (examples.length > rows) throw new RangeError(`padBatch: ${examples.length} examples do not fit ${rows} rows`);
  examples.forEach((ex, r) => {
    if (ex.ids.length > length) throw new RangeError(`padBatch: an example of ${ex.ids.length} tokens exceeds the length ${length}`);
    if (ex.labels.length !== ex.ids.length) throw new RangeError(`padBatch: ${ex.ids.length} ids but ${ex.labels.length} labels`);
    for (let t = 0; t < ex.ids.length; t++) {
      const i = r * length + t;
      inputIds[i] = BigInt(ex.ids[t]);
      attentionMask[i] = 1n;
      labels[i] = BigInt(ex.labels[t]);
      labelWeights[i] = ex.weights?.[t] ?? 1;
      if (ex.labels[t] !== IGNORE_INDEX && labelWeights[i] > 0) labelledTokens++;
    }
  });
  // Filler rows attend to their first slot only, so no softmax row is fully masked.
  for (let r = examples.length; r < rows; r++) attentionMask[r * length] = 1n;
  const positionIds = positionRow(config, length);
  return { rows, length, examples: examples.length, inputIds, attentionMask, positionIds, labels, labelWeights, labelledTokens };
}

/** A 32-bit seed for one epoch's shuffle. */
function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(epoch + 1, 0x165667b1)) | 0;
}

function shuffle<T>(items: T[], uniform: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * One epoch's batches: examples grouped by bucket, shuffled within each bucket, cut into
 * batches of `batchSize`, and the batches shuffled. Same (seed, epoch) → same batches.
 */
export function epochBatches(
  config: EncoderConfig,
  examples: readonly TokenizedExample[],
  opts: BatchOptions & { seed: number; epoch: number },
): Batch[] {
  const buckets = opts.buckets ?? DEFAULT_BUCKETS;
  const random = seededRandom(epochSeed(opts.seed, opts.epoch));
  const byBucket = new Map<number, number[]>();
  examples.forEach((ex, i) => {
    const b = bucketFor(ex.ids.length, buckets);
    byBucket.set(b, [...(byBucket.get(b) ?? []), i]);
  });
  const groups: number[][] = [];
  for (const b of [...byBucket.keys()].sort((x, y) => x - y)) {
    const order = shuffle(byBucket.get(b)!, random.uniform);
    for (let i = 0; i < order.length; i += opts.batchSize) groups.push(order.slice(i, i + opts.batchSize));
  }
  return shuffle(groups, random.uniform).map((group) => {
    const length = bucketFor(Math.max(...group.map((i) => examples[i].ids.length)), buckets);
    return padBatch(config, group.map((i) => examples[i]), opts.batchSize, length);
  });
}

/** Batches in evaluation order (no shuffle), for predictions over a dev or test set. */
export function evalBatches(config: EncoderConfig, examples: readonly TokenizedExample[], opts: BatchOptions): { batch: Batch; indices: number[] }[] {
  const buckets = opts.buckets ?? DEFAULT_BUCKETS;
  const out: { batch: Batch; indices: number[] }[] = [];
  for (let i = 0; i < examples.length; i += opts.batchSize) {
    const indices = Array.from({ length: Math.min(opts.batchSize, examples.length - i) }, (_, k) => i + k);
    const length = bucketFor(Math.max(...indices.map((k) => examples[k].ids.length)), buckets);
    out.push({ batch: padBatch(config, indices.map((k) => examples[k]), opts.batchSize, length), indices });
  }
  return out;
}
