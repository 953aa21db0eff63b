// Gradients of the whole tiny encoder + head + weighted cross-entropy, w.r.t. every
// parameter tensor (and LoRA's), against central finite differences in float64. Each
// tensor is checked at its two largest gradient entries and two random ones.

import { describe, expect, it } from "vitest";
import type { EncoderConfig } from "../../../src/core/model/config.ts";
import { type EncoderOptions, buildSequenceClassifier, buildTokenClassifier } from "../../../src/core/model/encoder.ts";
import { type LoraConfig, initLoraWeights, listLoraParams } from "../../../src/core/model/lora.ts";
import { type ParamSpec, listParams } from "../../../src/core/model/names.ts";
import { seededRandom } from "../../../src/core/model/random.ts";
import type { Weight } from "../../../src/core/model/weights.ts";
import { Graph, gradients, softmaxCrossEntropy, tensor, toModelProto } from "../../../src/core/onnx/index.ts";
import { type HostTensor, createSession } from "../../../src/core/onnx/run.ts";
import { type Batch, batchFeeds, batchInputs, paddedBatch, testWeights, tinyConfig } from "./encoder-reference.ts";

type Head = "token" | "sequence";

interface Case {
  config: EncoderConfig;
  head: Head;
  weights: Map<string, Weight>;
  lora?: { config: LoraConfig; weights: Map<string, Weight> };
  /** Differentiate by these; the other parameters are float64 initializers. */
  wrt: ParamSpec[];
}

/** The loss graph: logits → softmaxCrossEntropy with -100 labels and per-token weights. */
function lossModel(c: Case, withGradients: boolean, dtype: "float32" | "float64" = "float64"): Uint8Array {
  const g = new Graph("loss");
  const inputs = batchInputs(g, c.config);
  const trainable = new Set(c.wrt.map((s) => s.name));
  const wrt: ReturnType<Graph["input"]>[] = [];
  const source = (spec: ParamSpec) => {
    if (trainable.has(spec.name)) {
      const v = g.input(spec.name, dtype, spec.shape);
      wrt.push(v);
      return v;
    }
    const w = c.weights.get(spec.name) ?? c.lora?.weights.get(spec.name);
    return g.initializer(spec.name, tensor(dtype, spec.shape, w!.data));
  };
  const options: EncoderOptions = { dtype, lora: c.lora?.config };
  let loss;
  if (c.head === "token") {
    const { logits } = buildTokenClassifier(g, c.config, source, inputs, options); // (B, T, L)
    loss = softmaxCrossEntropy(logits, g.input("labels", "int64", ["B", "T"]), g.input("label_weights", dtype, ["B", "T"]));
  } else {
    const { logits } = buildSequenceClassifier(g, c.config, source, inputs, options); // (B, L)
    loss = softmaxCrossEntropy(logits, g.input("labels", "int64", ["B"]));
  }
  g.output(loss, "loss");
  if (withGradients) {
    const byName = new Map(wrt.map((v) => [v.name, v]));
    const ordered = c.wrt.map((s) => byName.get(s.name)!);
    gradients(g, loss, ordered).forEach((d, i) => g.output(d, `d/${c.wrt[i].name}`));
  }
  return toModelProto(g);
}

function lossFeeds(c: Case, batch: Batch, dtype: "float32" | "float64" = "float64"): Record<string, HostTensor> {
  const feeds = batchFeeds(batch);
  if (c.head === "token") {
    // Padding and one real token ignored (-100); the rest weighted unequally.
    const labels = batch.attentionMask.map((m, i) => (m === 0 || i === 2 ? -100 : i % c.config.numLabels));
    feeds.labels = { dtype: "int64", dims: [batch.batch, batch.length], data: BigInt64Array.from(labels.map(BigInt)) };
    const w = batch.attentionMask.map((_, i) => 0.5 + (i % 3) * 0.5);
    feeds.label_weights = { dtype, dims: [batch.batch, batch.length], data: dtype === "float64" ? Float64Array.from(w) : Float32Array.from(w) };
  } else {
    feeds.labels = { dtype: "int64", dims: [batch.batch], data: BigInt64Array.from([2n, 4n]) };
  }
  return feeds;
}

interface TensorCheck {
  name: string;
  role: ParamSpec["role"];
  /** max |analytic − numeric| over the checked entries / the largest of them in size. */
  relError: number;
  largest: number;
}

async function checkGradients(c: Case): Promise<TensorCheck[]> {
  const batch = paddedBatch(c.config);
  const base = lossFeeds(c, batch);
  const values = new Map(c.wrt.map((s) => [s.name, Float64Array.from((c.weights.get(s.name) ?? c.lora!.weights.get(s.name))!.data)]));
  const paramFeeds = () =>
    Object.fromEntries(c.wrt.map((s) => [s.name, { dtype: "float64", dims: s.shape, data: values.get(s.name)! } as HostTensor]));

  const full = await createSession(lossModel(c, true));
  const out = await full.run({ ...base, ...paramFeeds() });
  await full.release();
  const forward = await createSession(lossModel(c, false));
  const lossAt = async () => Number((await forward.run({ ...base, ...paramFeeds() }, ["loss"])).loss.data[0]);

  const random = seededRandom(99);
  const h = 1e-5;
  const checks: TensorCheck[] = [];
  for (const spec of c.wrt) {
    const analytic = out[`d/${spec.name}`].data as Float64Array;
    const byMagnitude = [...analytic.keys()].sort((i, j) => Math.abs(analytic[j]) - Math.abs(analytic[i]));
    const picks = new Set([byMagnitude[0], byMagnitude[1]]);
    while (picks.size < Math.min(4, analytic.length)) picks.add(Math.floor(random.uniform() * analytic.length));
    const x = values.get(spec.name)!;
    let diff = 0;
    let largest = 0;
    for (const j of picks) {
      const saved = x[j];
      x[j] = saved + h;
      const plus = await lossAt();
      x[j] = saved - h;
      const minus = await lossAt();
      x[j] = saved;
      const numeric = (plus - minus) / (2 * h);
      diff = Math.max(diff, Math.abs(analytic[j] - numeric));
      largest = Math.max(largest, Math.abs(analytic[j]), Math.abs(numeric));
    }
    checks.push({ name: spec.name, role: spec.role, relError: largest > 0 ? diff / largest : diff, largest });
  }
  await forward.release();
  return checks;
}

function expectClose(checks: TensorCheck[], count: number): void {
  expect(checks.length).toBe(count);
  // The key bias adds q·b_k to every score of a query row, which softmax ignores: its
  // gradient is zero, analytically and numerically (up to rounding).
  const keyBias = (c: TensorCheck) => c.role === "attention.key.bias";
  for (const check of checks.filter(keyBias)) expect(check.largest, check.name).toBeLessThan(1e-9);
  const others = checks.filter((c) => !keyBias(c));
  const worst = others.reduce((a, b) => (b.relError > a.relError ? b : a));
  expect(worst.relError, `worst: ${worst.name}`).toBeLessThan(1e-6);
  // Every other tensor gets a gradient that is not negligible.
  for (const check of others) expect(check.largest, check.name).toBeGreaterThan(1e-4);
}

describe("encoder gradients against finite differences (float64)", () => {
  it.each([
    ["bert", "token"],
    ["roberta", "token"],
    ["distilbert", "token"],
    ["bert", "sequence"],
    ["roberta", "sequence"],
    ["distilbert", "sequence"],
  ] as const)("%s, %s classification: every parameter tensor", async (type, head) => {
    const config = tinyConfig(type, "gelu_tanh");
    const weights = testWeights(config, 21, head);
    const wrt = listParams(config, head);
    expectClose(await checkGradients({ config, head, weights, wrt }), wrt.length);
  });

  it.each(["bert", "distilbert"] as const)("%s with LoRA on every target: every lora_A and lora_B", async (type) => {
    const config = tinyConfig(type, "gelu_tanh");
    const lora: LoraConfig = { rank: 2, alpha: 4, targets: ["query", "key", "value", "attention_output", "intermediate", "output"] };
    const loraWeights = initLoraWeights(config, lora, 5);
    // B starts at zero, which would make every dA zero: move it off zero.
    const random = seededRandom(6);
    for (const spec of listLoraParams(config, lora)) {
      if (spec.adapter === "lora_B") random.fillNormal(loraWeights.get(spec.name)!.data, 0, 0.3);
    }
    const wrt = listLoraParams(config, lora);
    const c: Case = { config, head: "token", weights: testWeights(config, 22), lora: { config: lora, weights: loraWeights }, wrt };
    expectClose(await checkGradients(c), 24);
  });
});

describe("the float32 training graph's gradients", () => {
  // float32 graphs use the LayerNormalization node and its gradient rule (float64 ones use
  // primitives): its gradients must match the float64 graph's to float32 precision.
  it.each(["bert", "roberta", "distilbert"] as const)("%s: equal the float64 graph's, every tensor", async (type) => {
    const config = tinyConfig(type, "gelu_tanh");
    const weights = testWeights(config, 23);
    const wrt = listParams(config, "token");
    const c: Case = { config, head: "token", weights, wrt };
    const batch = paddedBatch(config);
    const run = async (dtype: "float32" | "float64") => {
      const session = await createSession(lossModel(c, true, dtype));
      const params = Object.fromEntries(
        wrt.map((s) => {
          const data = weights.get(s.name)!.data;
          return [s.name, { dtype, dims: s.shape, data: dtype === "float64" ? Float64Array.from(data) : data } as HostTensor];
        }),
      );
      const out = await session.run({ ...lossFeeds(c, batch, dtype), ...params });
      await session.release();
      return out;
    };
    const [single, double] = [await run("float32"), await run("float64")];
    expect(Number(single.loss.data[0])).toBeCloseTo(Number(double.loss.data[0]), 5);
    let worst = 0;
    for (const spec of wrt) {
      const [a, b] = [single[`d/${spec.name}`].data as Float32Array, double[`d/${spec.name}`].data as Float64Array];
      let diff = 0;
      let scale = 1e-3; // key biases: zero gradient, so compare absolutely
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      worst = Math.max(worst, diff / scale);
    }
    expect(worst).toBeLessThan(1e-4);
  });
});
