// It learns: a 2-layer encoder (hidden 32) from random weights, trained by the one-graph
// step, learns a tagging rule that needs context — the token after a 7 is B-X and the
// token after that I-X — to more than 95% token accuracy on held-out sequences, and also
// on the tagged tokens alone (the O-only baseline gets none of those).

import { describe, expect, it } from "vitest";
import { createConfig } from "../../../src/core/model/config.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { type TokenizedExample, epochBatches, evalBatches } from "../../../src/core/train/batches.ts";
import { encoderModel } from "../../../src/core/train/model.ts";
import { Trainer } from "../../../src/core/train/trainer.ts";

const TRIGGER = 7;
const [O, B, I] = [0, 1, 2];

function toyExamples(count: number, seed: number): TokenizedExample[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const n = 8 + Math.floor(random.uniform() * 16);
    const ids = Array.from({ length: n }, () => (random.uniform() < 0.15 ? TRIGGER : 1 + Math.floor(random.uniform() * 19)));
    const labels = ids.map((_, t) => (t >= 1 && ids[t - 1] === TRIGGER ? B : t >= 2 && ids[t - 2] === TRIGGER ? I : O));
    return { ids, labels };
  });
}

describe("training a small encoder from scratch", () => {
  it("learns a tagging rule that needs context to > 95% token accuracy", async () => {
    const config = createConfig("bert", {
      vocabSize: 20,
      hiddenSize: 32,
      numLayers: 2,
      numHeads: 4,
      intermediateSize: 64,
      maxPositions: 32,
      labels: ["O", "B-X", "I-X"],
    });
    const train = toyExamples(512, 1);
    const test = toyExamples(128, 2);
    const buckets = [32];
    const epochs = 20;
    const batchSize = 16;
    const stepsPerEpoch = Math.ceil(train.length / batchSize);
    const trainer = await Trainer.create({
      model: encoderModel(config),
      weights: randomEncoderWeights(config, 3),
      mode: { kind: "full" },
      schedule: { lr: 3e-3, warmupSteps: 20, totalSteps: epochs * stepsPerEpoch },
      seed: 4,
      batchSize,
      dropout: { hiddenProb: 0, attentionProb: 0, classifierProb: 0 },
    });
    const losses: number[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const batch of epochBatches(config, train, { batchSize, buckets, seed: 5, epoch })) losses.push((await trainer.step(batch)).loss);
    }

    let [right, total, taggedRight, tagged] = [0, 0, 0, 0];
    for (const { batch, indices } of evalBatches(config, test, { batchSize, buckets })) {
      const logits = await trainer.predict(batch); // (rows, T, 3)
      indices.forEach((k, r) => {
        Array.from(test[k].labels).forEach((label, t) => {
          const at = (r * batch.length + t) * 3;
          const row = [logits[at], logits[at + 1], logits[at + 2]];
          const guess = row.indexOf(Math.max(...row));
          total++;
          right += Number(guess === label);
          if (label !== O) {
            tagged++;
            taggedRight += Number(guess === label);
          }
        });
      });
    }
    await trainer.release();
    const accuracy = right / total;
    const taggedAccuracy = taggedRight / tagged;
    console.log(`toy tagging: loss ${losses[0].toFixed(3)} → ${losses.at(-1)!.toFixed(3)}, accuracy ${accuracy.toFixed(4)}, on tagged tokens ${taggedAccuracy.toFixed(4)}`);
    expect(accuracy).toBeGreaterThan(0.95);
    expect(taggedAccuracy).toBeGreaterThan(0.9);
  });
});
