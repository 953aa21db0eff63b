// The step graph's optimizer against a hand-written AdamW in float64: for several steps the
// graph's gradients (emitted as extra outputs) go through the reference update, whose
// parameters and moments must match the graph's `.next` outputs. Clipping is active (a
// small max_grad_norm) and weight decay large, so a wrong clip or decay mask shows.

import { describe, expect, it } from "vitest";
import type { ParamSpec } from "../../../src/core/model/names.ts";
import { createTrainSession, type Feed, type HostTensor } from "../../../src/core/train/ort-session.ts";
import { learningRate } from "../../../src/core/train/schedule.ts";
import { type AdamWOptions, NEXT, buildStepGraph, stateNames } from "../../../src/core/train/step-graph.ts";
import { appliesWeightDecay, trainableSpecs } from "../../../src/core/train/trainable.ts";
import { perturbedWeights, randomBatch, smallConfig } from "./fixtures.ts";
import { encoderModel } from "../../../src/core/train/model.ts";

interface Reference {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** torch.optim.AdamW after torch.nn.utils.clip_grad_norm_, in float64. */
function referenceStep(
  state: Map<string, Reference>,
  specs: readonly ParamSpec[],
  grads: Map<string, Float64Array>,
  params: Map<string, Float64Array>,
  o: AdamWOptions & { step: number; lr: number; maxGradNorm: number; decays: (s: ParamSpec) => boolean },
): number {
  let sq = 0;
  for (const g of grads.values()) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  const clip = Math.min(1, o.maxGradNorm / (norm + 1e-6));
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (const spec of specs) {
    const s = state.get(spec.name)!;
    const g = grads.get(spec.name)!;
    const p = params.get(spec.name)!;
    const decay = o.decays(spec) ? 1 - o.lr * o.weightDecay : 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * clip;
      s.m[i] = o.beta1 * s.m[i] + (1 - o.beta1) * gi;
      s.v[i] = o.beta2 * s.v[i] + (1 - o.beta2) * gi * gi;
      const denom = Math.sqrt(s.v[i]) / Math.sqrt(bc2) + o.epsilon;
      s.p[i] = p[i] * decay - (o.lr / bc1) * (s.m[i] / denom);
    }
  }
  return norm;
}

/** max |a - b| / (atol + rtol |b|) over elements: ≤ 1 passes. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  return w;
}

describe("the training step graph", () => {
  const config = smallConfig();
  const model = encoderModel(config);
  const adamw: AdamWOptions = { beta1: 0.9, beta2: 0.98, epsilon: 1e-6, weightDecay: 0.5 };
  const schedule = { lr: 0.01, warmupSteps: 2, totalSteps: 8 };
  const maxGradNorm = 0.5;

  it("applies clipped AdamW with decoupled weight decay exactly as torch does (float64 reference)", async () => {
    const weights = perturbedWeights(config, 3);
    const trainable = trainableSpecs(model.specs, { kind: "full" });
    const graph = buildStepGraph({ model, batch: 3, length: 8, trainable, frozen: new Map(), adamw, emitGradients: true });
    const session = await createTrainSession(graph.bytes, { backend: "wasm" });
    const batch = randomBatch(config, 3, 8, 11);
    const feeds: Record<string, Feed> = {
      input_ids: { dtype: "int64", dims: [3, 8], data: batch.inputIds },
      attention_mask: { dtype: "int64", dims: [3, 8], data: batch.attentionMask },
      position_ids: { dtype: "int64", dims: [1, 8], data: batch.positionIds },
      labels: { dtype: "int64", dims: [3, 8], data: batch.labels },
      label_weights: { dtype: "float32", dims: [3, 8], data: batch.labelWeights },
      max_grad_norm: { dtype: "float32", dims: [], data: Float32Array.of(maxGradNorm) },
    };
    const reference = new Map<string, Reference>();
    for (const spec of trainable) {
      const w = weights.get(spec.name)!.data;
      feeds[stateNames(spec.name).param] = { dtype: "float32", dims: spec.shape, data: w };
      feeds[stateNames(spec.name).m] = { dtype: "float32", dims: spec.shape, data: new Float32Array(w.length) };
      feeds[stateNames(spec.name).v] = { dtype: "float32", dims: spec.shape, data: new Float32Array(w.length) };
      reference.set(spec.name, { p: new Float64Array(w.length), m: new Float64Array(w.length), v: new Float64Array(w.length) });
    }
    let clipped = 0;
    let decayedSeen = 0;
    for (let step = 1; step <= 5; step++) {
      const lr = learningRate(schedule, step);
      feeds.step = { dtype: "float32", dims: [], data: Float32Array.of(step) };
      feeds.lr = { dtype: "float32", dims: [], data: Float32Array.of(lr) };
      const out = await session.run(feeds);
      const host = async (name: string) => Float64Array.from((await out[name].toHost()).data as Float32Array);
      const grads = new Map<string, Float64Array>();
      const params = new Map<string, Float64Array>();
      for (const spec of trainable) {
        grads.set(spec.name, await host(`grad.${spec.name}`));
        params.set(spec.name, Float64Array.from((feeds[stateNames(spec.name).param] as HostTensor).data as Float32Array));
      }
      // The reference continues from the graph's own parameters (its moments stay float64).
      const norm = referenceStep(reference, trainable, grads, params, { ...adamw, step, lr, maxGradNorm, decays: appliesWeightDecay });
      if (norm > maxGradNorm) clipped++;
      expect((await out.grad_norm.toHost()).data[0]).toBeCloseTo(norm, 5);
      for (const spec of trainable) {
        const names = stateNames(spec.name);
        const ref = reference.get(spec.name)!;
        const p1 = await host(names.param + NEXT);
        expect(worst(p1, ref.p, 1e-7, 1e-5), `${spec.name} at step ${step}`).toBeLessThanOrEqual(1);
        expect(worst(await host(names.m + NEXT), ref.m, 1e-9, 1e-4), `m of ${spec.name}`).toBeLessThanOrEqual(1);
        expect(worst(await host(names.v + NEXT), ref.v, 1e-12, 1e-4), `v of ${spec.name}`).toBeLessThanOrEqual(1);
        if (appliesWeightDecay(spec) && lr > 0) decayedSeen++;
        for (const key of Object.values(names)) feeds[key] = await out[key + NEXT].toHost();
      }
    }
    await session.release();
    expect(clipped).toBeGreaterThan(0);
    expect(decayedSeen).toBeGreaterThan(0);
  });

  it("leaves biases and LayerNorm out of weight decay (a reference that decays them disagrees)", async () => {
    const weights = perturbedWeights(config, 5);
    const trainable = trainableSpecs(model.specs, { kind: "full" });
    const graph = buildStepGraph({ model, batch: 2, length: 8, trainable, frozen: new Map(), adamw, emitGradients: true });
    const session = await createTrainSession(graph.bytes, { backend: "wasm" });
    const batch = randomBatch(config, 2, 8, 12);
    const feeds: Record<string, Feed> = {
      input_ids: { dtype: "int64", dims: [2, 8], data: batch.inputIds },
      attention_mask: { dtype: "int64", dims: [2, 8], data: batch.attentionMask },
      position_ids: { dtype: "int64", dims: [1, 8], data: batch.positionIds },
      labels: { dtype: "int64", dims: [2, 8], data: batch.labels },
      label_weights: { dtype: "float32", dims: [2, 8], data: batch.labelWeights },
      max_grad_norm: { dtype: "float32", dims: [], data: Float32Array.of(1e30) },
      step: { dtype: "float32", dims: [], data: Float32Array.of(1) },
      lr: { dtype: "float32", dims: [], data: Float32Array.of(0.05) },
    };
    for (const spec of trainable) {
      const w = weights.get(spec.name)!.data;
      feeds[stateNames(spec.name).param] = { dtype: "float32", dims: spec.shape, data: w };
      feeds[stateNames(spec.name).m] = { dtype: "float32", dims: spec.shape, data: new Float32Array(w.length) };
      feeds[stateNames(spec.name).v] = { dtype: "float32", dims: spec.shape, data: new Float32Array(w.length) };
    }
    const out = await session.run(feeds);
    const grads = new Map<string, Float64Array>();
    const params = new Map<string, Float64Array>();
    for (const spec of trainable) {
      grads.set(spec.name, Float64Array.from((await out[`grad.${spec.name}`].toHost()).data as Float32Array));
      params.set(spec.name, Float64Array.from(weights.get(spec.name)!.data));
    }
    const fresh = () => new Map(trainable.map((s) => [s.name, { p: new Float64Array(s.shape.reduce((a, b) => a * b)), m: new Float64Array(s.shape.reduce((a, b) => a * b)), v: new Float64Array(s.shape.reduce((a, b) => a * b)) }]));
    const right = fresh();
    const wrong = fresh();
    referenceStep(right, trainable, grads, params, { ...adamw, step: 1, lr: 0.05, maxGradNorm: 1e30, decays: appliesWeightDecay });
    referenceStep(wrong, trainable, grads, params, { ...adamw, step: 1, lr: 0.05, maxGradNorm: 1e30, decays: () => true });
    const noDecay = trainable.filter((s) => !appliesWeightDecay(s));
    expect(noDecay.map((s) => s.name)).toContain("bert.encoder.layer.0.attention.output.LayerNorm.weight");
    expect(noDecay.map((s) => s.name)).toContain("classifier.bias");
    for (const spec of trainable) {
      const p1 = (await out[stateNames(spec.name).param + NEXT].toHost()).data as Float32Array;
      expect(worst(p1, right.get(spec.name)!.p, 1e-7, 1e-5), spec.name).toBeLessThanOrEqual(1);
      if (!appliesWeightDecay(spec)) expect(worst(p1, wrong.get(spec.name)!.p, 1e-7, 1e-5), spec.name).toBeGreaterThan(1);
    }
    await session.release();
  });
});
