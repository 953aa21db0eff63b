import { describe, expect, it } from "vitest";
import { initLoraWeights, mergeLora, type LoraConfig } from "../../../src/core/model/lora.ts";
import { readSafetensors } from "../../../src/core/model/safetensors.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { encoderModel } from "../../../src/core/train/model.ts";
import { Trainer, type TrainerOptions } from "../../../src/core/train/trainer.ts";
import { perturbedWeights, randomBatch, smallConfig } from "./fixtures.ts";

const config = smallConfig({ numLayers: 2 });
const schedule = { lr: 1e-2, warmupSteps: 2, totalSteps: 20 };
const batches = [randomBatch(config, 2, 8, 1), randomBatch(config, 2, 8, 2), randomBatch(config, 2, 16, 3)];

function options(extra: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    model: encoderModel(config),
    weights: perturbedWeights(config, 1),
    mode: { kind: "full" },
    schedule,
    seed: 42,
    batchSize: 2,
    dropout: { hiddenProb: 0.1, attentionProb: 0.1, classifierProb: 0.1 },
    ...extra,
  };
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe("the trainer", () => {
  it("resumes from a checkpoint bit for bit, dropout included", async () => {
    const a = await Trainer.create(options());
    for (let i = 0; i < 3; i++) await a.step(batches[i % 3]);
    const bytes = await a.checkpoint({ sampler: "epoch 0, batch 3" });
    const after: number[] = [];
    for (let i = 3; i < 6; i++) after.push((await a.step(batches[i % 3])).loss);
    const stateA = await a.stateOnHost();

    const b = await Trainer.fromCheckpoint(bytes, { model: encoderModel(config), weights: perturbedWeights(config, 1) });
    expect(b.stepCount).toBe(3);
    const resumed: number[] = [];
    for (let i = 3; i < 6; i++) resumed.push((await b.step(batches[i % 3])).loss);
    const stateB = await b.stateOnHost();

    expect(resumed).toEqual(after); // exact
    expect([...stateB.keys()].sort()).toEqual([...stateA.keys()].sort());
    for (const [name, data] of stateA) expect(bits(stateB.get(name)!), name).toEqual(bits(data));
    expect(readSafetensors(bytes).metadata?.sampler).toBe("epoch 0, batch 3");
    await a.release();
    await b.release();
  });

  it("draws dropout masks from the run seed", async () => {
    const losses = async (seed: number) => {
      const t = await Trainer.create(options({ seed }));
      const out = [(await t.step(batches[0])).loss, (await t.step(batches[0])).loss];
      await t.release();
      return out;
    };
    const [l42, l43, l42again] = [await losses(42), await losses(43), await losses(42)];
    expect(l42again).toEqual(l42);
    expect(l43[0]).not.toBe(l42[0]);
  });

  it("trains only LoRA factors and the head in LoRA mode, and merges them on export", async () => {
    const lora: LoraConfig = { rank: 2, alpha: 4, targets: ["query", "value"] };
    const base = perturbedWeights(config, 1);
    const weights = new Map<string, Weight>([...base, ...initLoraWeights(config, lora, 5)]);
    const t = await Trainer.create(options({ model: encoderModel(config, lora), weights, mode: { kind: "lora" } }));
    expect(t.trainable.every((s) => "adapter" in s || s.part === "head")).toBe(true);
    expect(t.trainable.length).toBe(2 * 2 * 2 + 2);
    for (let i = 0; i < 3; i++) await t.step(batches[i]);
    const state = await t.stateOnHost();
    const loraB = "bert.encoder.layer.1.attention.self.value.lora_B";
    expect(state.get(`p.${loraB}`)!.some((x) => x !== 0)).toBe(true);
    const exported = await t.exportWeights();
    expect([...exported.keys()].some((n) => n.includes("lora"))).toBe(false);
    const loraNow = new Map([...state].filter(([n]) => n.startsWith("p.") && n.includes("lora")).map(([n, d]) => [n.slice(2), d]));
    const expected = mergeLora(new Map([...base].map(([n, w]) => [n, w.data])), config, lora, loraNow);
    const query = "bert.encoder.layer.0.attention.self.query.weight";
    expect(bits(exported.get(query)!)).toEqual(bits(expected.get(query)!));
    expect(exported.get(query)).not.toEqual(base.get(query)!.data);
    const key = "bert.encoder.layer.0.attention.self.key.weight";
    expect(bits(exported.get(key)!)).toEqual(bits(base.get(key)!.data));
    await t.release();
  });

  it("keeps the embeddings and the lower layers frozen in freeze mode", async () => {
    const base = perturbedWeights(config, 1);
    const t = await Trainer.create(options({ weights: base, mode: { kind: "freeze", embeddings: true, layers: 1 } }));
    for (let i = 0; i < 2; i++) await t.step(batches[i]);
    const exported = await t.exportWeights();
    const same = (name: string) => exported.get(name)!.every((x, i) => x === base.get(name)!.data[i]);
    expect(same("bert.embeddings.word_embeddings.weight")).toBe(true);
    expect(same("bert.encoder.layer.0.intermediate.dense.weight")).toBe(true);
    expect(same("bert.encoder.layer.1.intermediate.dense.weight")).toBe(false);
    expect(same("classifier.weight")).toBe(false);
    expect(t.trainable.some((s) => s.layer === 0 || s.role.startsWith("embeddings."))).toBe(false);
    await t.release();
  });
});
