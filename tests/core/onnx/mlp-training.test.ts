// End to end: a 2-layer MLP classifier whose whole SGD step (forward, gradients, update)
// is one ONNX graph; a JS loop feeds the updated parameters back in. Loss must fall.

import { describe, expect, it } from "vitest";
import * as o from "../../../src/core/onnx/index.ts";
import { type HostTensor, createSession } from "../../../src/core/onnx/run.ts";
import { rng } from "./gradcheck.ts";

const HIDDEN = 16;
const CLASSES = 3;
const LEARNING_RATE = 0.5;

function stepGraph(): Uint8Array {
  const g = new o.Graph("mlp_step");
  const x = g.input("x", "float32", ["N", 2]);
  const labels = g.input("labels", "int64", ["N"]);
  const params = {
    w1: g.input("w1", "float32", [2, HIDDEN]),
    b1: g.input("b1", "float32", [HIDDEN]),
    w2: g.input("w2", "float32", [HIDDEN, CLASSES]),
    b2: g.input("b2", "float32", [CLASSES]),
  };
  const h = o.gelu(o.linear(x, params.w1, params.b1)); // (N, H)
  const logits = o.linear(h, params.w2, params.b2); // (N, C)
  const loss = o.softmaxCrossEntropy(logits, labels);
  g.output(loss, "loss");
  const names = Object.keys(params) as (keyof typeof params)[];
  const grads = o.gradients(g, loss, names.map((n) => params[n]));
  names.forEach((n, i) => g.output(o.sub(params[n], o.mul(grads[i], LEARNING_RATE)), `${n}_next`));
  return o.toModelProto(g);
}

/** Three Gaussian blobs in the plane, one per class. */
function toyData(n: number): { x: Float32Array; labels: BigInt64Array } {
  const random = rng(3);
  const centres = [[-1, 0], [1, 0.5], [0, -1.2]];
  const x = new Float32Array(2 * n);
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    labels[i] = BigInt(c);
    x[2 * i] = centres[c][0] + 0.5 * (random() - 0.5);
    x[2 * i + 1] = centres[c][1] + 0.5 * (random() - 0.5);
  }
  return { x, labels };
}

describe("a 2-layer MLP trained by a one-graph SGD step", () => {
  it("lowers the loss", async () => {
    const session = await createSession(stepGraph());
    const random = rng(5);
    const init = (dims: number[], scale: number): HostTensor => ({
      dtype: "float32",
      dims,
      data: Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => scale * (2 * random() - 1)),
    });
    let params: Record<string, HostTensor> = {
      w1: init([2, HIDDEN], 1),
      b1: init([HIDDEN], 0),
      w2: init([HIDDEN, CLASSES], 0.5),
      b2: init([CLASSES], 0),
    };
    const { x, labels } = toyData(60);
    const batch = {
      x: { dtype: "float32" as const, dims: [60, 2], data: x },
      labels: { dtype: "int64" as const, dims: [60], data: labels },
    };
    const losses: number[] = [];
    for (let step = 0; step < 100; step++) {
      const out = await session.run({ ...batch, ...params });
      losses.push(Number(out.loss.data[0]));
      params = { w1: out.w1_next, b1: out.b1_next, w2: out.w2_next, b2: out.b2_next };
    }
    await session.release();
    expect(losses[0]).toBeGreaterThan(0.8);
    expect(losses[99]).toBeLessThan(0.2);
    expect(losses[99]).toBeLessThan(losses[0] / 4);
  });
});
