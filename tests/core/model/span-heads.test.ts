// The attribute and relation heads: parameter names and shapes; gradients of head + loss
// against finite differences (float64); the exported inference graph against a float64
// reference (the reference encoder, mean pooling and the Linear layers written out in JS);
// and the model folder they download as.

import { strFromU8 } from "fflate";
import { describe, expect, it } from "vitest";
import { SPAN_HEAD_FIELD, readModelFolder, writeSpanModelFolder } from "../../../src/core/model/folder.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import { buildSpanInferenceModel } from "../../../src/core/model/inference-graph.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import {
  type AttributeTarget,
  NO_RELATION,
  type SpanHead,
  listSpanModelParams,
  spanHeadLogits,
  spanHeadParams,
} from "../../../src/core/model/span-heads.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { initialWeight } from "../../../src/core/model/weights.ts";
import type { Value } from "../../../src/core/onnx/index.ts";
import type { HostTensor } from "../../../src/core/onnx/run.ts";
import { ShapeError } from "../../../src/core/errors.ts";
import { attributeModel, relationModel } from "../../../src/core/train/task-models.ts";
import { checkGradients } from "../onnx/gradcheck.ts";
import { batchFeeds, maxAbs, maxAbsDiff, paddedBatch, referenceEncoder, runLogits, tinyConfig } from "./encoder-reference.ts";

const ATTRIBUTES: AttributeTarget[] = [
  { entityType: "Disease", name: "certainty", values: ["positive", "negative", "suspected"] },
  { entityType: "Drug", name: "status", values: ["current", "stopped"] },
];
const ATTRIBUTE_HEAD: SpanHead = { kind: "attributes", attributes: ATTRIBUTES };
const RELATION_HEAD: SpanHead = { kind: "relations", labels: [NO_RELATION, "has_dose", "located_in"] };

describe("span head parameters", () => {
  it("names one Linear per attribute and one relation Linear over 3 × hidden, after the bare encoder's", () => {
    const config = tinyConfig("bert");
    expect(spanHeadParams(config, ATTRIBUTE_HEAD).map((s) => [s.name, s.shape])).toEqual([
      ["attribute_classifiers.0.weight", [3, 32]],
      ["attribute_classifiers.0.bias", [3]],
      ["attribute_classifiers.1.weight", [2, 32]],
      ["attribute_classifiers.1.bias", [2]],
    ]);
    expect(spanHeadParams(config, RELATION_HEAD).map((s) => [s.name, s.shape])).toEqual([
      ["relation_classifier.weight", [3, 96]],
      ["relation_classifier.bias", [3]],
    ]);
    const all = listSpanModelParams(config, RELATION_HEAD);
    expect(all[0].name).toBe("bert.embeddings.word_embeddings.weight");
    expect(all.filter((s) => s.part === "head").map((s) => s.name)).toEqual(["relation_classifier.weight", "relation_classifier.bias"]);
    expect(all.some((s) => s.name.startsWith("bert.pooler") || s.name === "classifier.weight")).toBe(false);
  });

  it("refuses an attribute with one value and relation labels without 'none' first", () => {
    const config = tinyConfig("bert");
    const one = { kind: "attributes", attributes: [{ entityType: "Disease", name: "certainty", values: ["positive"] }] } as const;
    expect(() => spanHeadParams(config, one)).toThrow(ShapeError);
    expect(() => spanHeadParams(config, one)).toThrow(/Disease\.certainty needs at least 2 values/);
    expect(() => spanHeadParams(config, { kind: "relations", labels: ["has_dose", NO_RELATION] })).toThrow(/"none" and at least one type/);
  });
});

// (2 rows, 5 tokens, hidden 4): spans as mean pooling rows; the second row's second span is padding.
const H = 4;
const SPANS = [
  [0.5, 0.5, 0, 0, 0], [0, 0, 0, 1, 0],
  [0, 1 / 3, 1 / 3, 1 / 3, 0], [0, 0, 0, 0, 0],
].flat();

describe("span head gradients against finite differences (float64), loss included", () => {
  it("attributes: hidden state and every head parameter", async () => {
    const config = tinyConfig("bert");
    const model = attributeModel(config, { kind: "attributes", attributes: ATTRIBUTES });
    const specs = spanHeadParams({ ...config, hiddenSize: H }, ATTRIBUTE_HEAD);
    // Labels per (row, span, attribute): each attribute applies to some spans only.
    const labels = [2, -100, -100, 1, 0, -100, -100, -100];
    const { relError } = await checkGradients({
      name: "attribute-head",
      inputs: [[2, 5, H], ...specs.map((s) => s.shape)],
      build: ([hidden, ...params], g) => {
        const byName = new Map(specs.map((s, i) => [s.name, params[i]]));
        const spans = g.constant(SPANS, "float64", [2, 2, 5]);
        const logits = spanHeadLogits(hidden, ATTRIBUTE_HEAD, { spans }, (s) => byName.get(s.name)!, specs); // (2, 2, 5)
        return model.objective!.loss(logits, { attribute_labels: g.constant(labels, "int64", [2, 2, 2]) });
      },
    });
    expect(relError).toBeLessThan(1e-6);
  });

  it("relations: hidden state and the pair classifier", async () => {
    const config = tinyConfig("bert");
    const model = relationModel(config, { kind: "relations", labels: [NO_RELATION, "has_dose", "located_in"] });
    const specs = spanHeadParams({ ...config, hiddenSize: H }, RELATION_HEAD);
    const from = SPANS;
    const to = [SPANS.slice(10), SPANS.slice(0, 10)].flat();
    const { relError } = await checkGradients({
      name: "relation-head",
      inputs: [[2, 5, H], ...specs.map((s) => s.shape)],
      build: ([hidden, weight, bias], g) => {
        const byName = new Map([[specs[0].name, weight], [specs[1].name, bias]]);
        const pooling = { from: g.constant(from, "float64", [2, 2, 5]), to: g.constant(to, "float64", [2, 2, 5]) };
        const logits = spanHeadLogits(hidden, RELATION_HEAD, pooling, (s) => byName.get(s.name)!, specs); // (2, 2, 3)
        return model.objective!.loss(logits, { relation_labels: g.constant([1, 0, 2, -100], "int64", [2, 2]) });
      },
    });
    expect(relError).toBeLessThan(1e-6);
  });
});

/** Encoder weights plus a head with std 0.5, so the logits are far from zero. */
function spanWeights(config: ReturnType<typeof tinyConfig>, head: SpanHead, seed: number): Map<string, Weight> {
  const weights = randomEncoderWeights(config, seed, "none");
  const random = seededRandom(seed + 1);
  for (const spec of spanHeadParams(config, head)) weights.set(spec.name, initialWeight({ ...spec, init: "normal" }, random, 0.5));
  return weights;
}

function linearRows(x: Float64Array, rows: number, w: Float32Array, b: Float32Array, inDim: number, outDim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let k = 0; k < inDim; k++) s += x[r * inDim + k] * w[o * inDim + k];
      out.push(s);
    }
  }
  return out;
}

describe("buildSpanInferenceModel", () => {
  // paddedBatch: 2 rows of 6 tokens, the second with 4 real ones. Two spans per row; the
  // relations pair each span with the other one of its row.
  const POOL = [
    [0, 0.5, 0.5, 0, 0, 0], [0, 0, 0, 0, 1, 0],
    [0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0],
  ].flat();

  function pooled(hidden: Float64Array, pool: number[], rows: number, spans: number, length: number, h: number): Float64Array {
    const out = new Float64Array(rows * spans * h);
    for (let r = 0; r < rows; r++)
      for (let e = 0; e < spans; e++)
        for (let t = 0; t < length; t++)
          for (let k = 0; k < h; k++) out[(r * spans + e) * h + k] += pool[(r * spans + e) * length + t] * hidden[(r * length + t) * h + k];
    return out;
  }

  it.each(["bert", "roberta", "distilbert"] as const)("%s, attributes and relations: the float64 reference's logits from transformers.js's inputs", async (type) => {
    const config = tinyConfig(type);
    const batch = paddedBatch(config);
    const { position_ids: _, ...feeds } = batchFeeds(batch);
    const pool = (values: number[]): HostTensor => ({ dtype: "float32", dims: [2, 2, 6], data: Float32Array.from(values) });
    const H32 = config.hiddenSize;

    const attributeWeights = spanWeights(config, ATTRIBUTE_HEAD, 51);
    const param = (name: string) => Float64Array.from(attributeWeights.get(name)!.data);
    const hidden = referenceEncoder(config, param, batch);
    const spans = pooled(hidden, POOL, 2, 2, 6, H32);
    const w = (name: string) => attributeWeights.get(name)!.data;
    const per = ATTRIBUTES.map((a, i) => linearRows(spans, 4, w(`attribute_classifiers.${i}.weight`), w(`attribute_classifiers.${i}.bias`), H32, a.values.length));
    const expected = Array.from({ length: 4 }, (_, r) => [...per[0].slice(3 * r, 3 * r + 3), ...per[1].slice(2 * r, 2 * r + 2)]).flat();
    const attributeLogits = await runLogits(buildSpanInferenceModel(config, attributeWeights, ATTRIBUTE_HEAD), { ...feeds, span_weights: pool(POOL) });
    expect(attributeLogits.length).toBe(2 * 2 * 5);
    expect(maxAbs(expected)).toBeGreaterThan(0.3);
    expect(maxAbsDiff(attributeLogits, expected)).toBeLessThan(1e-4);

    const relationWeights = spanWeights(config, RELATION_HEAD, 52);
    const rParam = (name: string) => Float64Array.from(relationWeights.get(name)!.data);
    const rHidden = referenceEncoder(config, rParam, batch);
    const swapped = [POOL.slice(6, 12), POOL.slice(0, 6), POOL.slice(18, 24), POOL.slice(12, 18)].flat();
    const from = pooled(rHidden, POOL, 2, 2, 6, H32);
    const to = pooled(rHidden, swapped, 2, 2, 6, H32);
    const pairs = new Float64Array(4 * 3 * H32);
    for (let p = 0; p < 4; p++)
      for (let k = 0; k < H32; k++) {
        pairs[p * 3 * H32 + k] = from[p * H32 + k];
        pairs[p * 3 * H32 + H32 + k] = to[p * H32 + k];
        pairs[p * 3 * H32 + 2 * H32 + k] = from[p * H32 + k] * to[p * H32 + k];
      }
    const rw = (name: string) => relationWeights.get(name)!.data;
    const rExpected = linearRows(pairs, 4, rw("relation_classifier.weight"), rw("relation_classifier.bias"), 3 * H32, 3);
    const relationLogits = await runLogits(buildSpanInferenceModel(config, relationWeights, RELATION_HEAD), {
      ...feeds,
      pair_from: pool(POOL),
      pair_to: pool(swapped),
    });
    expect(maxAbs(rExpected)).toBeGreaterThan(0.3);
    expect(maxAbsDiff(relationLogits, rExpected)).toBeLessThan(1e-4);
  });
});

describe("writeSpanModelFolder", () => {
  it("writes a bare-encoder config.json with the head described, and the head's tensors by their names", () => {
    const config = tinyConfig("roberta");
    const weights = spanWeights(config, RELATION_HEAD, 53);
    const files = writeSpanModelFolder(config, RELATION_HEAD, weights, { tokenizerJson: { model: {} } });
    const written = JSON.parse(strFromU8(files.get("config.json")!));
    expect(written.architectures).toEqual(["RobertaModel"]);
    expect(written.id2label).toEqual({ 0: "none", 1: "has_dose", 2: "located_in" });
    expect(written[SPAN_HEAD_FIELD]).toEqual({ kind: "relations", pooling: "mean", pair: "from,to,from*to", no_relation: "none" });
    const tensors = readSafetensors(files.get("model.safetensors")!).tensors;
    expect(tensors.get("relation_classifier.weight")?.shape).toEqual([3, 96]);
    expect([...tensors.keys()].sort()).toEqual(listSpanModelParams(config, RELATION_HEAD).map((s) => s.name).sort());
    // The encoder's tensors are where transformers' RobertaModel looks for them.
    expect(readModelFolder(files).config.modelType).toBe("roberta");

    const attributeFiles = writeSpanModelFolder(config, ATTRIBUTE_HEAD, spanWeights(config, ATTRIBUTE_HEAD, 54), { tokenizerJson: { model: {} } });
    expect(JSON.parse(strFromU8(attributeFiles.get("config.json")!))[SPAN_HEAD_FIELD].attributes).toEqual([
      { entity_type: "Disease", name: "certainty", values: ["positive", "negative", "suspected"] },
      { entity_type: "Drug", name: "status", values: ["current", "stopped"] },
    ]);
  });

  it("refuses weights that lack the head, naming the missing tensor", () => {
    const config = tinyConfig("bert");
    const weights = spanWeights(config, ATTRIBUTE_HEAD, 55);
    weights.delete("attribute_classifiers.1.bias");
    expect(() => writeSpanModelFolder(config, ATTRIBUTE_HEAD, weights, { tokenizerJson: {} })).toThrow(/'attribute_classifiers\.1\.bias' is missing/);
  });
});
