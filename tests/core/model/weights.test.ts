import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../../../src/core/errors.ts";
import { createConfig, type ModelType } from "../../../src/core/model/config.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";
import { readSafetensors, writeSafetensors, type Tensor } from "../../../src/core/model/safetensors.ts";
import { completeWeights, initClassifier, resolveWeights, type Weight } from "../../../src/core/model/weights.ts";
import { thrownBy } from "../../helpers.ts";

const tiny = (type: ModelType = "bert") =>
  createConfig(type, { vocabSize: 50, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 16, maxPositions: 24, labels: ["O", "B-X", "I-X"] });

/** A checkpoint as read from disk: the given weights renamed, through a real safetensors round trip. */
function checkpoint(weights: Map<string, Weight>, rename: (name: string) => string | undefined = (n) => n, extra: [string, Weight][] = []): Map<string, Tensor> {
  const renamed = new Map<string, Weight>();
  for (const [name, weight] of weights) {
    const to = rename(name);
    if (to !== undefined) renamed.set(to, weight);
  }
  for (const [name, weight] of extra) renamed.set(name, weight);
  return readSafetensors(writeSafetensors(renamed)).tensors;
}

describe("resolveWeights", () => {
  it("takes a *ForTokenClassification checkpoint as is", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 1);
    const resolved = resolveWeights(config, checkpoint(weights));
    expect(resolved.newlyInitialised).toEqual([]);
    expect(resolved.unused).toEqual([]);
    expect([...resolved.params.keys()]).toEqual(listParams(config).map((s) => s.name));
    for (const [name, weight] of weights) expect(resolved.params.get(name)!.data).toEqual(weight.data);
  });

  it.each<ModelType>(["bert", "roberta", "distilbert"])("accepts a %s base-model checkpoint without the prefix and a new head", (type) => {
    const config = tiny(type);
    const weights = randomEncoderWeights(config, 2, "none");
    const prefix = `${config.family}.`;
    const resolved = resolveWeights(config, checkpoint(weights, (name) => name.slice(prefix.length)));
    expect(resolved.params.size).toBe(weights.size);
    expect(resolved.newlyInitialised).toEqual(["classifier.weight", "classifier.bias"]);
    expect(resolved.renamed.get(type === "distilbert" ? "transformer.layer.1.ffn.lin2.weight" : "encoder.layer.1.output.dense.weight")).toBe(
      type === "distilbert" ? "distilbert.transformer.layer.1.ffn.lin2.weight" : `${prefix}encoder.layer.1.output.dense.weight`,
    );
  });

  it("ignores a masked-LM head and the position_ids buffer (BertForMaskedLM checkpoint)", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 3, "none");
    const extras: [string, Weight][] = [
      ["cls.predictions.bias", { shape: [50], data: new Float32Array(50) }],
      ["cls.predictions.transform.dense.weight", { shape: [8, 8], data: new Float32Array(64) }],
      ["cls.predictions.transform.LayerNorm.gamma", { shape: [8], data: new Float32Array(8) }],
    ];
    const tensors = checkpoint(weights, (n) => n, extras);
    const withBuffer = readSafetensors(
      writeSafetensors([...tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }] as const).concat([["bert.embeddings.position_ids", { shape: [1, 24], data: new BigInt64Array(24) }]])),
    ).tensors;
    const resolved = resolveWeights(config, withBuffer);
    expect(resolved.unused.sort()).toEqual(["bert.embeddings.position_ids", ...extras.map(([n]) => n)].sort());
    expect(resolved.newlyInitialised).toEqual(["classifier.weight", "classifier.bias"]);
  });

  it("renames TF-era LayerNorm.gamma / LayerNorm.beta", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 4);
    const tensors = checkpoint(weights, (name) => name.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta"));
    expect(tensors.has("bert.embeddings.LayerNorm.gamma")).toBe(true);
    const resolved = resolveWeights(config, tensors);
    expect(resolved.params.get("bert.encoder.layer.0.output.LayerNorm.weight")!.data).toEqual(weights.get("bert.encoder.layer.0.output.LayerNorm.weight")!.data);
    expect(resolved.renamed.get("bert.embeddings.LayerNorm.beta")).toBe("bert.embeddings.LayerNorm.bias");
    expect(resolved.unused).toEqual([]);
  });

  it("prefers the exact name when a checkpoint has both a name and an alias of it", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 5);
    const alias: Weight = { shape: [8], data: new Float32Array(8).fill(9) };
    const resolved = resolveWeights(config, checkpoint(weights, (n) => n, [["embeddings.LayerNorm.weight", alias]]));
    expect(resolved.params.get("bert.embeddings.LayerNorm.weight")!.data).toEqual(weights.get("bert.embeddings.LayerNorm.weight")!.data);
    expect(resolved.unused).toEqual(["embeddings.LayerNorm.weight"]);
  });

  it("lists missing tensors", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 6);
    const error = thrownBy(ModelFormatError, () =>
      resolveWeights(config, checkpoint(weights, (n) => (n.includes("layer.1.attention.self.key") ? undefined : n)), "encoder.safetensors"),
    );
    expect(error.file).toBe("encoder.safetensors");
    expect(error.message).toMatch(/2 tensor\(s\) missing: bert\.encoder\.layer\.1\.attention\.self\.key\.weight, bert\.encoder\.layer\.1\.attention\.self\.key\.bias/);
  });

  it("says when none of the model's parameters are there (wrong model type)", () => {
    const config = tiny("bert");
    const error = thrownBy(ModelFormatError, () => resolveWeights(config, checkpoint(randomEncoderWeights(tiny("distilbert"), 7))));
    expect(error.message).toMatch(/none of the bert parameters were found/);
  });

  it("names the tensor, the expected and the actual shape on a mismatch", () => {
    const config = tiny();
    const weights = randomEncoderWeights(createConfig("bert", { vocabSize: 51, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 16, maxPositions: 24, labels: ["O", "B-X", "I-X"] }), 8);
    const error = thrownBy(ModelFormatError, () => resolveWeights(config, checkpoint(weights)));
    expect(error.message).toMatch(/'bert\.embeddings\.word_embeddings\.weight' has shape \[51, 8\], expected \[50, 8\]/);
  });

  it("refuses half a head (a classifier weight without its bias)", () => {
    const config = tiny();
    const error = thrownBy(ModelFormatError, () => resolveWeights(config, checkpoint(randomEncoderWeights(config, 9), (n) => (n === "classifier.bias" ? undefined : n))));
    expect(error.message).toMatch(/missing: classifier\.bias/);
  });

  it("reinitialises the head on request, listing the old one as unused", () => {
    const config = tiny();
    const resolved = resolveWeights(config, checkpoint(randomEncoderWeights(config, 10)), "model.safetensors", { reinitialiseHead: true });
    expect(resolved.newlyInitialised).toEqual(["classifier.weight", "classifier.bias"]);
    expect(resolved.unused).toEqual(["classifier.weight", "classifier.bias"]);
    expect(resolved.params.has("classifier.weight")).toBe(false);
  });

  it("loads BERT's pooler from a base checkpoint and initialises only the classifier (sequence head)", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 11, "sequence");
    const resolved = resolveWeights(config, checkpoint(weights, (n) => (n.startsWith("classifier.") ? undefined : n.slice("bert.".length))), "model.safetensors", { head: "sequence" });
    expect(resolved.params.has("bert.pooler.dense.weight")).toBe(true);
    expect(resolved.newlyInitialised).toEqual(["classifier.weight", "classifier.bias"]);
  });

  it("widens F16 checkpoints to float32", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 12);
    const tensors = readSafetensors(writeSafetensors(weights, { floatDtype: "F16" })).tensors;
    const resolved = resolveWeights(config, tensors);
    const got = resolved.params.get("bert.encoder.layer.0.attention.self.query.weight")!.data;
    const want = weights.get("bert.encoder.layer.0.attention.self.query.weight")!.data;
    expect(got).toBeInstanceOf(Float32Array);
    // F16 keeps 11 significant bits: relative error ≤ 2^-11.
    want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThanOrEqual(Math.abs(w) * 2 ** -11 + 2 ** -25));
  });

  it("refuses an integer tensor where a weight belongs", () => {
    const config = tiny();
    const weights = randomEncoderWeights(config, 13);
    const tensors = checkpoint(weights);
    const bad = readSafetensors(writeSafetensors(new Map([["w", { shape: [8], data: new Int32Array(8) }]]))).tensors.get("w")!;
    tensors.set("bert.embeddings.LayerNorm.bias", bad);
    expect(thrownBy(ModelFormatError, () => resolveWeights(config, tensors)).message).toMatch(/'bert\.embeddings\.LayerNorm\.bias' has dtype I32/);
  });
});

describe("new heads", () => {
  it("initClassifier: normal(0, 0.02) weight, zero bias, deterministic by seed", () => {
    const a = initClassifier(9, 768, seededRandom(42));
    const b = initClassifier(9, 768, seededRandom(42));
    const c = initClassifier(9, 768, seededRandom(43));
    expect(a.weight.shape).toEqual([9, 768]);
    expect(a.bias).toEqual({ shape: [9], data: new Float32Array(9) });
    expect(a.weight.data).toEqual(b.weight.data);
    expect(a.weight.data).not.toEqual(c.weight.data);
    const n = a.weight.data.length;
    const mean = a.weight.data.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(a.weight.data.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
  });

  it("completeWeights fills exactly the newly initialised parameters", () => {
    const config = tiny();
    const resolved = resolveWeights(config, checkpoint(randomEncoderWeights(config, 14, "none")));
    const complete = completeWeights(resolved, seededRandom(1));
    expect([...complete.keys()].sort()).toEqual(listParams(config).map((s) => s.name).sort());
    expect(complete.get("classifier.weight")!.shape).toEqual([3, 8]);
    expect(complete.get("classifier.bias")!.data).toEqual(new Float32Array(3));
  });
});

describe("resolveWeights on in-memory weights", () => {
  it("takes a Map of Weight directly (no file round trip)", () => {
    const config = tiny("distilbert");
    const weights = randomEncoderWeights(config, 15);
    const resolved = resolveWeights(config, weights);
    expect(resolved.params.get("distilbert.embeddings.word_embeddings.weight")!.data).toBe(weights.get("distilbert.embeddings.word_embeddings.weight")!.data);
  });
});
