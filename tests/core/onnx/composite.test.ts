import { describe, expect, it } from "vitest";
import * as o from "../../../src/core/onnx/index.ts";
import { createSession } from "../../../src/core/onnx/run.ts";
import { checkGradients } from "./gradcheck.ts";

// (2, 3) tokens, 3 classes; two tokens ignored.
const LOGITS = [
  [0.2, -1.0, 0.5], [1.5, 0.3, -0.2], [0.0, 0.0, 0.0],
  [-0.7, 2.0, 0.1], [0.9, -0.4, 1.1], [0.3, 0.3, -2.0],
].flat();
const LABELS = [2, -100, 1, 1, 0, -100];
const WEIGHTS = [1.0, 5.0, 0.5, 2.0, 1.5, 3.0];

function handComputedLoss(): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < LABELS.length; i++) {
    if (LABELS[i] === -100) continue;
    const row = LOGITS.slice(3 * i, 3 * i + 3);
    const m = Math.max(...row);
    const logSumExp = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    num += WEIGHTS[i] * (logSumExp - row[LABELS[i]]);
    den += WEIGHTS[i];
  }
  return num / den;
}

async function runLoss(labels: number[], weights?: number[]): Promise<number> {
  const g = new o.Graph("ce");
  const logits = g.input("logits", "float64", ["B", "T", 3]);
  const y = g.input("labels", "int64", ["B", "T"]);
  const w = weights ? g.input("weights", "float64", ["B", "T"]) : undefined;
  g.output(o.softmaxCrossEntropy(logits, y, w), "loss");
  const session = await createSession(o.toModelProto(g));
  const out = await session.run({
    logits: { dtype: "float64", dims: [2, 3, 3], data: Float64Array.from(LOGITS) },
    labels: { dtype: "int64", dims: [2, 3], data: BigInt64Array.from(labels.map(BigInt)) },
    ...(weights ? { weights: { dtype: "float64" as const, dims: [2, 3], data: Float64Array.from(weights) } } : {}),
  });
  await session.release();
  return Number(out.loss.data[0]);
}

describe("softmax cross-entropy with ignore index and token weights", () => {
  it("matches a hand-computed value", async () => {
    expect(await runLoss(LABELS, WEIGHTS)).toBeCloseTo(handComputedLoss(), 12);
  });

  it("averages over counted tokens when there are no weights", async () => {
    const unweighted = await runLoss(LABELS);
    const saved = WEIGHTS.slice();
    WEIGHTS.fill(1);
    const expected = handComputedLoss();
    WEIGHTS.splice(0, WEIGHTS.length, ...saved);
    expect(unweighted).toBeCloseTo(expected, 12);
  });

  it("is 0, not NaN, when every token is ignored", async () => {
    expect(await runLoss(LABELS.map(() => -100), WEIGHTS)).toBe(0);
  });

  it("has gradients (logits and weights) that match finite differences", async () => {
    const { relError } = await checkGradients({
      name: "ce",
      inputs: [[2, 3, 3], [2, 3]],
      domains: ["any", "positive"],
      build: ([logits, w], g) => o.softmaxCrossEntropy(logits, g.constant(LABELS, "int64", [2, 3]), w),
    });
    expect(relError).toBeLessThan(1e-6);
  });
});

describe("dropout", () => {
  async function runDropout(bytes: Uint8Array, n: number): Promise<Float32Array> {
    const session = await createSession(bytes);
    const out = await session.run({ x: { dtype: "float32", dims: [n], data: new Float32Array(n).fill(1) } });
    await session.release();
    return out.y.data as Float32Array;
  }

  function dropoutModel(p: number, seed: number): Uint8Array {
    const g = new o.Graph("dropout");
    g.output(o.dropout(g.input("x", "float32", ["N"]), p, { seed }), "y");
    return o.toModelProto(g);
  }

  it("drops about p of the elements and scales the rest by 1/(1-p)", async () => {
    const y = await runDropout(dropoutModel(0.25, 7), 4000);
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / y.length).toBeGreaterThan(0.2);
    expect(zeros / y.length).toBeLessThan(0.3);
    for (const v of y) if (v !== 0) expect(v).toBeCloseTo(1 / 0.75, 6);
  });

  it("replays the same mask from a new session with the same seed", async () => {
    const bytes = dropoutModel(0.5, 11);
    expect(await runDropout(bytes, 64)).toEqual(await runDropout(bytes, 64));
  });

  it("draws a new mask on each run of one session", async () => {
    const session = await createSession(dropoutModel(0.5, 11));
    const feeds = { x: { dtype: "float32" as const, dims: [64], data: new Float32Array(64).fill(1) } };
    const first = (await session.run(feeds)).y.data;
    const second = (await session.run(feeds)).y.data;
    await session.release();
    expect(second).not.toEqual(first);
  });

  it("uses given noise when there is some, with a gradient that matches finite differences", async () => {
    const noise = [0.1, 0.9, 0.6, 0.3, 0.45, 0.55];
    const { relError, analytic } = await checkGradients({
      name: "dropout-noise",
      inputs: [[2, 3]],
      build: ([x], g) => o.dropout(x, 0.5, { noise: g.constant(noise, "float64", [2, 3]) }),
    });
    expect(relError).toBeLessThan(1e-6);
    const zeroed = Array.from(analytic[0]).map((v) => v === 0);
    expect(zeroed).toEqual(noise.map((u) => u < 0.5));
  });
});

describe("sigmoid binary cross-entropy on logits", () => {
  // (3 rows, 2 classes); the last row is a filler row (weight 0) with extreme logits.
  const X = [0.3, -1.2, 2.5, 0.0, 40.0, -40.0];
  const Y = [1, 0, 0, 1, 0, 1];

  function handComputed(rowWeights: number[]): number {
    const logSigmoid = (v: number) => -Math.log1p(Math.exp(-v));
    let total = 0;
    X.forEach((x, i) => {
      const ce = -(Y[i] * logSigmoid(x) + (1 - Y[i]) * logSigmoid(-x));
      total += rowWeights[Math.floor(i / 2)] * ce;
    });
    return total / (2 * rowWeights.reduce((a, b) => a + b, 0));
  }

  async function runBce(rowWeights?: number[]): Promise<number> {
    const g = new o.Graph("bce");
    const logits = g.input("logits", "float64", ["B", 2]);
    const targets = g.input("targets", "float64", ["B", 2]);
    const w = rowWeights ? g.input("w", "float64", ["B"]) : undefined;
    g.output(o.binaryCrossEntropyWithLogits(logits, targets, w), "loss");
    const session = await createSession(o.toModelProto(g));
    const out = await session.run({
      logits: { dtype: "float64", dims: [3, 2], data: Float64Array.from(X) },
      targets: { dtype: "float64", dims: [3, 2], data: Float64Array.from(Y) },
      ...(rowWeights ? { w: { dtype: "float64" as const, dims: [3], data: Float64Array.from(rowWeights) } } : {}),
    });
    await session.release();
    return Number(out.loss.data[0]);
  }

  it("matches a hand-computed value, leaving out a row of weight 0", async () => {
    expect(await runBce([1, 2, 0])).toBeCloseTo(handComputed([1, 2, 0]), 12);
  });

  it("is the mean over every element without weights, finite for logits of ±40", async () => {
    const loss = await runBce();
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(handComputed([1, 1, 1]), 12);
  });

  it("has gradients (logits and targets) that match finite differences", async () => {
    const { relError } = await checkGradients({
      name: "bce",
      inputs: [[3, 2], [3, 2]],
      domains: ["any", "positive"],
      build: ([logits, targets], g) => o.binaryCrossEntropyWithLogits(logits, o.mul(targets, 0.5), g.constant([1, 0.5, 2], "float64", [3])),
    });
    expect(relError).toBeLessThan(1e-6);
  });
});
