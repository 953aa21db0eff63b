import { describe, expect, it } from "vitest";
import {
  type LoraConfig,
  fromPeftName,
  initLoraWeights,
  listLoraParams,
  loraScale,
  mergeLora,
  peftTargetModules,
  toPeftName,
} from "../../../src/core/model/lora.ts";
import { batchFeeds, classifierModel, maxAbsDiff, paddedBatch, runLogits, testWeights, tinyConfig } from "./encoder-reference.ts";

const ALL: LoraConfig = { rank: 4, alpha: 8, targets: ["query", "key", "value", "attention_output", "intermediate", "output"] };

describe("listLoraParams", () => {
  it("names A and B after the Hugging Face module, with PEFT's shapes", () => {
    const config = tinyConfig("bert"); // H 32, I 64
    const specs = listLoraParams(config, ALL);
    expect(specs.length).toBe(2 * 6 * 2);
    const byName = new Map(specs.map((s) => [s.name, s]));
    expect(byName.get("bert.encoder.layer.0.attention.self.query.lora_A")).toMatchObject({
      shape: [4, 32],
      init: "normal",
      adapter: "lora_A",
      base: "bert.encoder.layer.0.attention.self.query.weight",
      role: "attention.query.weight",
      layer: 0,
    });
    expect(byName.get("bert.encoder.layer.1.intermediate.dense.lora_B")).toMatchObject({ shape: [64, 4], init: "zeros" });
    expect(byName.get("bert.encoder.layer.1.output.dense.lora_A")).toMatchObject({ shape: [4, 64] });
    expect(byName.has("bert.encoder.layer.1.attention.output.dense.lora_B")).toBe(true);
  });

  it("follows DistilBERT's names and lists only the chosen targets", () => {
    const specs = listLoraParams(tinyConfig("distilbert"), { rank: 2, alpha: 2, targets: ["value", "output"] });
    expect(specs.map((s) => s.name)).toEqual([
      "distilbert.transformer.layer.0.attention.v_lin.lora_A",
      "distilbert.transformer.layer.0.attention.v_lin.lora_B",
      "distilbert.transformer.layer.0.ffn.lin2.lora_A",
      "distilbert.transformer.layer.0.ffn.lin2.lora_B",
      "distilbert.transformer.layer.1.attention.v_lin.lora_A",
      "distilbert.transformer.layer.1.attention.v_lin.lora_B",
      "distilbert.transformer.layer.1.ffn.lin2.lora_A",
      "distilbert.transformer.layer.1.ffn.lin2.lora_B",
    ]);
  });

  it("rejects a bad rank or target", () => {
    expect(() => listLoraParams(tinyConfig("bert"), { rank: 0, alpha: 1, targets: ["query"] })).toThrow(/rank/);
    expect(() => listLoraParams(tinyConfig("bert"), { rank: 2, alpha: 1, targets: ["dense" as never] })).toThrow(/targets/);
  });
});

describe("PEFT names", () => {
  it("maps ours to adapter_model.safetensors keys and back", () => {
    const ours = "roberta.encoder.layer.3.attention.self.value.lora_B";
    expect(toPeftName(ours)).toBe("base_model.model.roberta.encoder.layer.3.attention.self.value.lora_B.weight");
    expect(fromPeftName(toPeftName(ours))).toBe(ours);
    expect(fromPeftName("base_model.model.roberta.encoder.layer.3.attention.self.value.lora_B.default.weight")).toBe(ours);
  });

  it("lists full module names as target_modules, so output.dense never catches attention.output.dense", () => {
    const modules = peftTargetModules(tinyConfig("bert"), { rank: 2, alpha: 2, targets: ["output"] });
    expect(modules).toEqual(["bert.encoder.layer.0.output.dense", "bert.encoder.layer.1.output.dense"]);
  });
});

describe("initLoraWeights", () => {
  it("draws A as PEFT's kaiming-uniform and zeroes B, so the model is unchanged", async () => {
    const config = tinyConfig("roberta");
    const adapter = initLoraWeights(config, ALL, 1);
    for (const spec of listLoraParams(config, ALL)) {
      const { data, shape } = adapter.get(spec.name)!;
      expect(shape).toEqual(spec.shape);
      if (spec.adapter === "lora_B") expect(data.every((x) => x === 0)).toBe(true);
      else {
        const bound = 1 / Math.sqrt(spec.shape[1]);
        expect(data.every((x) => Math.abs(x) <= bound)).toBe(true);
        expect(data.some((x) => Math.abs(x) > bound / 2)).toBe(true);
      }
    }
    const weights = testWeights(config, 2);
    const batch = paddedBatch(config);
    const base = await runLogits(classifierModel(config, weights, "token"), batchFeeds(batch));
    const fresh = await runLogits(classifierModel(config, weights, "token", { lora: ALL }, adapter), batchFeeds(batch));
    expect(maxAbsDiff(base, fresh)).toBeLessThan(1e-6);
  });
});

describe("mergeLora", () => {
  it("adds (alpha/rank) B A to the (out, in) weight and leaves the input unchanged", () => {
    const config = tinyConfig("bert");
    const lora: LoraConfig = { rank: 2, alpha: 6, targets: ["intermediate"] };
    const weights = testWeights(config, 3);
    const adapter = initLoraWeights(config, lora, 4);
    const name = "bert.encoder.layer.1.intermediate.dense";
    const b = adapter.get(`${name}.lora_B`)!.data; // (64, 2)
    b.forEach((_, i) => (b[i] = ((i % 5) - 2) / 10));
    const a = adapter.get(`${name}.lora_A`)!.data; // (2, 32)
    const before = Float32Array.from(weights.get(`${name}.weight`)!.data);

    const merged = mergeLora(weights, config, lora, adapter);
    const w = merged.get(`${name}.weight`)!;
    expect(w.shape).toEqual([64, 32]);
    const scale = loraScale(lora); // 3
    for (const [o, i] of [[0, 0], [7, 31], [63, 5]]) {
      const delta = scale * (b[o * 2] * a[i] + b[o * 2 + 1] * a[32 + i]);
      expect(w.data[o * 32 + i]).toBeCloseTo(before[o * 32 + i] + delta, 6);
    }
    expect(weights.get(`${name}.weight`)!.data).toEqual(before);
    // Layers LoRA does not adapt are shared, not copied.
    expect(merged.get("bert.encoder.layer.0.attention.self.query.weight")).toBe(weights.get("bert.encoder.layer.0.attention.self.query.weight"));
    // Plain Float32Array maps give Float32Arrays back.
    const flat = new Map([...weights].map(([k, v]) => [k, v.data]));
    expect(mergeLora(flat, config, lora, adapter).get(`${name}.weight`)).toEqual(w.data);
  });

  it("names what is missing", () => {
    const config = tinyConfig("bert");
    const lora: LoraConfig = { rank: 2, alpha: 2, targets: ["query"] };
    const adapter = initLoraWeights(config, lora, 1);
    adapter.delete("bert.encoder.layer.1.attention.self.query.lora_B");
    expect(() => mergeLora(testWeights(config, 1), config, lora, adapter)).toThrow(/layer\.1\.attention\.self\.query\.lora_B/);
  });
});
