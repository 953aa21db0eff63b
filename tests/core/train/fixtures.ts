// Small models and batches shared by the training tests.

import { createConfig, type EncoderConfig } from "../../../src/core/model/config.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { type Batch, type TokenizedExample, padBatch } from "../../../src/core/train/batches.ts";

export const LABELS = ["O", "B-X", "I-X"];

export function smallConfig(sizes: { hiddenSize?: number; numLayers?: number; vocabSize?: number } = {}): EncoderConfig {
  const hiddenSize = sizes.hiddenSize ?? 8;
  return createConfig("bert", {
    vocabSize: sizes.vocabSize ?? 16,
    hiddenSize,
    numLayers: sizes.numLayers ?? 1,
    numHeads: 2,
    intermediateSize: 2 * hiddenSize,
    maxPositions: 64,
    labels: LABELS,
  });
}

/** Random weights with LayerNorm weights and biases moved off 1 and 0, so a wrong decay mask shows. */
export function perturbedWeights(config: EncoderConfig, seed: number): Map<string, Weight> {
  const weights = randomEncoderWeights(config, seed);
  const random = seededRandom(seed + 1);
  for (const [name, w] of weights) {
    if (name.endsWith(".bias") || name.includes("LayerNorm")) {
      for (let i = 0; i < w.data.length; i++) w.data[i] += 0.2 * (2 * random.uniform() - 1);
    }
  }
  return weights;
}

/** Random token sequences of the given lengths with random labels (some -100) and weights. */
export function randomExamples(config: EncoderConfig, lengths: number[], seed: number): TokenizedExample[] {
  const random = seededRandom(seed);
  return lengths.map((n) => {
    const ids = Array.from({ length: n }, () => 1 + Math.floor(random.uniform() * (config.vocabSize - 1)));
    const labels = ids.map((_, t) => (t === 0 || t === n - 1 ? -100 : Math.floor(random.uniform() * config.numLabels)));
    const weights = ids.map(() => 0.5 + random.uniform());
    return { ids, labels, weights };
  });
}

export function randomBatch(config: EncoderConfig, rows: number, length: number, seed: number): Batch {
  const lengths = Array.from({ length: rows }, (_, r) => Math.max(3, length - 2 * r));
  return padBatch(config, randomExamples(config, lengths, seed), rows, length);
}
