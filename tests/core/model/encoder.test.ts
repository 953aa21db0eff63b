// The encoder graphs against a plain float64 reference forward (loops over arrays, from
// transformers' modeling code), on a padded batch: this checks the layer maths, the
// attention mask, position ids, token types, each family's naming and each head.

import { describe, expect, it } from "vitest";
import { createConfig } from "../../../src/core/model/config.ts";
import { listModelParams, positionIds } from "../../../src/core/model/encoder.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { createSession } from "../../../src/core/onnx/run.ts";
import {
  batchFeeds,
  classifierModel,
  erf,
  maxAbs,
  maxAbsDiff,
  paddedBatch,
  referenceClassifier,
  runLogits,
  testWeights,
  tinyConfig,
} from "./encoder-reference.ts";

const FAMILIES = ["bert", "roberta", "distilbert"] as const;

describe("the reference's erf", () => {
  it("matches known values", () => {
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf(-1)).toBeCloseTo(-0.8427007929497149, 14);
    expect(erf(2.4)).toBeCloseTo(0.999311486103355, 14);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 14);
    expect(erf(-4.5)).toBeCloseTo(-0.9999999998033839, 14);
  });
});

describe("positionIds", () => {
  it("counts 0..T-1 for BERT and DistilBERT, whatever the padding", () => {
    for (const type of ["bert", "distilbert"] as const) {
      expect(Array.from(positionIds(tinyConfig(type), [1, 1, 1, 1, 1, 0], 2, 3), Number)).toEqual([0, 1, 2, 0, 1, 2]);
    }
  });

  it("counts real tokens from padding_idx + 1 for RoBERTa, padding at padding_idx", () => {
    const config = tinyConfig("roberta"); // pad 1
    expect(Array.from(positionIds(config, new Int32Array([1, 1, 1, 1, 1, 0]), 2, 3), Number)).toEqual([2, 3, 4, 2, 3, 1]);
    const xlmr = createConfig("xlm-roberta", { vocabSize: 50, hiddenSize: 8, numHeads: 2, numLayers: 1, intermediateSize: 8 });
    expect(Array.from(positionIds(xlmr, [1, 1, 0, 0], 1, 4), Number)).toEqual([2, 3, 1, 1]);
  });
});

describe("listModelParams", () => {
  it("lists the model's parameters, then LoRA's", () => {
    const config = tinyConfig("bert");
    const lora = { rank: 2, alpha: 4, targets: ["query" as const, "value" as const] };
    const specs = listModelParams(config, "token", lora);
    expect(specs.slice(0, listParams(config).length)).toEqual(listParams(config));
    expect(specs.length).toBe(listParams(config).length + 2 * 2 * 2);
  });
});

describe("the encoder graph against the float64 reference", () => {
  // float32 graph vs float64 loops: agreement to ~1e-5 on logits of order 1.
  it.each(FAMILIES.flatMap((f) => [[f, "token"], [f, "sequence"]] as const))("%s, %s classification, padded batch", async (type, head) => {
    const config = tinyConfig(type);
    const weights = testWeights(config, 11, head);
    const batch = paddedBatch(config);
    const expected = referenceClassifier(config, weights, batch, head);
    const logits = await runLogits(classifierModel(config, weights, head), batchFeeds(batch));
    const diff = maxAbsDiff(logits, expected);
    expect(maxAbs(expected)).toBeGreaterThan(0.3); // the check is not on vanishing numbers
    expect(diff).toBeLessThan(1e-5);
  });

  it.each(["gelu_tanh", "relu"] as const)("BERT with hidden_act %s", async (act) => {
    const config = tinyConfig("bert", act);
    const weights = testWeights(config, 12);
    const batch = paddedBatch(config);
    const logits = await runLogits(classifierModel(config, weights, "token"), batchFeeds(batch));
    expect(maxAbsDiff(logits, referenceClassifier(config, weights, batch, "token"))).toBeLessThan(1e-5);
  });

  it("pads without changing the real tokens' logits", async () => {
    // Row 1 of the padded batch, alone and unpadded, gives the same logits for its 4 tokens.
    const config = tinyConfig("roberta");
    const weights = testWeights(config, 13);
    const batch = paddedBatch(config);
    const full = await runLogits(classifierModel(config, weights, "token"), batchFeeds(batch));
    const row = 1;
    const n = 4;
    const alone = {
      batch: 1,
      length: n,
      inputIds: batch.inputIds.slice(row * 6, row * 6 + n),
      attentionMask: [1, 1, 1, 1],
      positionIds: batch.positionIds.slice(row * 6, row * 6 + n),
    };
    const single = await runLogits(classifierModel(config, weights, "token"), batchFeeds(alone));
    const L = config.numLabels;
    expect(maxAbsDiff(single, full.subarray(row * 6 * L, (row * 6 + n) * L))).toBeLessThan(1e-5);
  });
});

describe("dropout", () => {
  const config = tinyConfig("bert");
  const weights = testWeights(config, 14);
  const batch = paddedBatch(config);
  const options = { dropout: { hiddenProb: 0.1, attentionProb: 0.1, seed: 42 } };

  it("draws new masks on each run of a session and replays them in a new session", async () => {
    const model = classifierModel(config, weights, "token", options);
    const first = await createSession(model);
    const a1 = Float32Array.from((await first.run(batchFeeds(batch))).logits.data as Float32Array);
    const a2 = Float32Array.from((await first.run(batchFeeds(batch))).logits.data as Float32Array);
    await first.release();
    const second = await createSession(model);
    const b1 = Float32Array.from((await second.run(batchFeeds(batch))).logits.data as Float32Array);
    await second.release();
    expect(maxAbsDiff(a1, a2)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a1, b1)).toBe(0);

    const plain = await runLogits(classifierModel(config, weights, "token"), batchFeeds(batch));
    expect(maxAbsDiff(a1, plain)).toBeGreaterThan(1e-3);
  });

  it("gives another mask sequence for another seed, and is the identity at rate 0", async () => {
    const other = await runLogits(classifierModel(config, weights, "token", { dropout: { ...options.dropout, seed: 43 } }), batchFeeds(batch));
    const seeded = await runLogits(classifierModel(config, weights, "token", options), batchFeeds(batch));
    expect(maxAbsDiff(other, seeded)).toBeGreaterThan(1e-3);

    const zero = { dropout: { hiddenProb: 0, attentionProb: 0, seed: 1 } };
    const off = await runLogits(classifierModel(config, weights, "token", zero), batchFeeds(batch));
    const plain = await runLogits(classifierModel(config, weights, "token"), batchFeeds(batch));
    expect(maxAbsDiff(off, plain)).toBe(0);
  });
});
