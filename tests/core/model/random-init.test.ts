import { describe, expect, it } from "vitest";
import { createConfig } from "../../../src/core/model/config.ts";
import { listParams } from "../../../src/core/model/names.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import { randomEncoderWeights } from "../../../src/core/model/random-init.ts";

describe("seededRandom", () => {
  it("repeats for a seed and differs between seeds", () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed).uniform);
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(draw(1).every((u) => u >= 0 && u < 1)).toBe(true);
  });

  it("draws standard normals", () => {
    const samples = seededRandom(3).fillNormal(new Float32Array(200_000));
    const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
    const variance = samples.reduce((s, x) => s + (x - mean) ** 2, 0) / samples.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(samples.every(Number.isFinite)).toBe(true);
  });
});

describe("randomEncoderWeights", () => {
  it.each(["bert", "roberta", "distilbert"] as const)("initialises every %s parameter as transformers does", (type) => {
    const config = createConfig(type, { vocabSize: 40, hiddenSize: 16, numLayers: 2, numHeads: 4, intermediateSize: 32, labels: ["O", "B", "I"] });
    const weights = randomEncoderWeights(config, 5);
    const specs = listParams(config);
    expect([...weights.keys()]).toEqual(specs.map((s) => s.name));
    for (const spec of specs) {
      const { shape, data } = weights.get(spec.name)!;
      expect(shape).toEqual(spec.shape);
      expect(data.length).toBe(spec.shape.reduce((a, b) => a * b, 1));
      if (spec.init === "ones") expect(data.every((x) => x === 1), spec.name).toBe(true);
      if (spec.init === "zeros") expect(data.every((x) => x === 0), spec.name).toBe(true);
    }
    // The padding token's embedding row is zero (nn.Embedding(padding_idx=pad_token_id)).
    const word = weights.get(specs[0].name)!.data;
    const pad = config.padTokenId;
    expect(word.subarray(pad * 16, (pad + 1) * 16).every((x) => x === 0)).toBe(true);
    expect(word.subarray(((pad + 1) % 40) * 16, ((pad + 1) % 40) * 16 + 16).some((x) => x !== 0)).toBe(true);
    expect(randomEncoderWeights(config, 5).get(specs[0].name)!.data).toEqual(word);
  });

  it("draws matrices from normal(0, initializer_range)", () => {
    const config = createConfig("bert", { hiddenSize: 64, numLayers: 1, numHeads: 4, intermediateSize: 256 });
    const { data } = randomEncoderWeights(config, 9).get("bert.encoder.layer.0.intermediate.dense.weight")!;
    const std = Math.sqrt(data.reduce((s, x) => s + x * x, 0) / data.length);
    expect(std).toBeGreaterThan(0.0195);
    expect(std).toBeLessThan(0.0205);
  });
});

describe("seededRandom.fillNormal", () => {
  it("gives the same sequence as repeated normal() calls, whatever the lengths", () => {
    const a = seededRandom(11);
    const b = seededRandom(11);
    for (const length of [3, 0, 4, 1, 5]) {
      const filled = a.fillNormal(new Float32Array(length), 0.5, 2);
      const called = Float32Array.from({ length }, () => b.normal(0.5, 2));
      expect(filled).toEqual(called);
    }
  });
});
