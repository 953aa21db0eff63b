// The exported inference model: the training builder's forward (no dropout) and the
// float64 reference, fed only what transformers.js feeds (position ids are made inside),
// at more than one batch shape; and with LoRA merged, the LoRA training forward.

import { describe, expect, it } from "vitest";
import { buildInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { type LoraConfig, initLoraWeights, listLoraParams, mergeLora } from "../../../src/core/model/lora.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { type HostTensor, createSession } from "../../../src/core/onnx/run.ts";
import {
  type Batch,
  batchFeeds,
  classifierModel,
  maxAbs,
  maxAbsDiff,
  paddedBatch,
  referenceClassifier,
  runLogits,
  testWeights,
  tinyConfig,
} from "./encoder-reference.ts";
import { positionIds } from "../../../src/core/model/encoder.ts";
import type { EncoderConfig } from "../../../src/core/model/config.ts";

/** What transformers.js feeds: no position ids. */
function inferenceFeeds(batch: Batch): Record<string, HostTensor> {
  const { position_ids: _, ...feeds } = batchFeeds(batch);
  return feeds;
}

/** A batch of another shape: 3 rows of 7, lengths 7, 2 and 5. */
function otherBatch(config: EncoderConfig): Batch {
  const random = seededRandom(17);
  const [batch, length, lengths] = [3, 7, [7, 2, 5]];
  const inputIds: number[] = [];
  const attentionMask: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) {
      const real = t < lengths[b];
      inputIds.push(real ? 2 + Math.floor(random.uniform() * (config.vocabSize - 2)) : config.padTokenId);
      attentionMask.push(real ? 1 : 0);
    }
  }
  const tokenTypeIds = config.family === "bert" ? attentionMask.map((m, i) => (m && i % length >= 4 ? 1 : 0)) : undefined;
  return { batch, length, inputIds, attentionMask, tokenTypeIds, positionIds: Array.from(positionIds(config, attentionMask, batch, length), Number) };
}

const FAMILIES = ["bert", "roberta", "distilbert"] as const;

describe("buildInferenceModel", () => {
  it.each(FAMILIES)("%s: has transformers.js's inputs and a logits output", async (type) => {
    const config = tinyConfig(type);
    const session = await createSession(buildInferenceModel(config, testWeights(config, 31)));
    expect(session.inputNames).toEqual(type === "bert" ? ["input_ids", "attention_mask", "token_type_ids"] : ["input_ids", "attention_mask"]);
    expect(session.outputNames).toEqual(["logits"]);
    await session.release();
  });

  it.each(FAMILIES.flatMap((f) => [[f, "token"], [f, "sequence"]] as const))(
    "%s, %s: equals the training builder's forward and the reference, at two batch shapes",
    async (type, head) => {
      const config = tinyConfig(type);
      const weights = testWeights(config, 32, head);
      const model = buildInferenceModel(config, weights, { head });
      for (const batch of [paddedBatch(config), otherBatch(config)]) {
        const exported = await runLogits(model, inferenceFeeds(batch));
        const training = await runLogits(classifierModel(config, weights, head), batchFeeds(batch));
        // float32 rounding only: onnxruntime fuses the two graphs' nodes a little differently.
        expect(maxAbsDiff(exported, training)).toBeLessThan(1e-5);
        expect(maxAbsDiff(exported, referenceClassifier(config, weights, batch, head))).toBeLessThan(1e-5);
      }
    },
  );

  it("accepts plain Float32Array weights", async () => {
    const config = tinyConfig("bert");
    const weights = testWeights(config, 33);
    const flat = new Map([...weights].map(([name, w]) => [name, w.data]));
    const batch = paddedBatch(config);
    const a = await runLogits(buildInferenceModel(config, weights), inferenceFeeds(batch));
    const b = await runLogits(buildInferenceModel(config, flat), inferenceFeeds(batch));
    expect(maxAbsDiff(a, b)).toBe(0);
  });

  it("names a missing weight", () => {
    const config = tinyConfig("bert");
    const weights = testWeights(config, 34);
    weights.delete("classifier.bias");
    expect(() => buildInferenceModel(config, weights)).toThrow(/classifier\.bias/);
  });
});

describe("LoRA merged into the inference model", () => {
  const lora: LoraConfig = { rank: 4, alpha: 8, targets: ["query", "key", "value", "attention_output", "intermediate", "output"] };

  function trainedAdapter(config: EncoderConfig): Map<string, Weight> {
    const adapter = initLoraWeights(config, lora, 35);
    const random = seededRandom(36);
    for (const spec of listLoraParams(config, lora)) {
      if (spec.adapter === "lora_B") random.fillNormal(adapter.get(spec.name)!.data, 0, 0.1);
    }
    return adapter;
  }

  it.each(FAMILIES)("%s: equals the LoRA-enabled training forward", async (type) => {
    const config = tinyConfig(type);
    const weights = testWeights(config, 37);
    const adapter = trainedAdapter(config);
    const batch = paddedBatch(config);
    const withLora = await runLogits(classifierModel(config, weights, "token", { lora }, adapter), batchFeeds(batch));
    const base = await runLogits(classifierModel(config, weights, "token"), batchFeeds(batch));
    const merged = await runLogits(buildInferenceModel(config, mergeLora(weights, config, lora, adapter)), inferenceFeeds(batch));
    expect(maxAbsDiff(withLora, base)).toBeGreaterThan(0.1); // the adapter matters
    expect(maxAbsDiff(merged, withLora)).toBeLessThan(1e-5 * Math.max(1, maxAbs(withLora)));
  });
});
