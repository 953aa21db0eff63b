// Gradient checking against central finite differences. Builds f = sum(op(x...) * R) for
// a fixed random R, runs the autodiff graph in onnxruntime-web for the analytic
// gradients, and a forward-only graph for f(x ± h e_j).

import { Graph, type Shape, type Value, gradients, mul, reduceSum, tensor, toModelProto } from "../../../src/core/onnx/index.ts";
import { type HostTensor, createSession } from "../../../src/core/onnx/run.ts";

export type FloatDType = "float32" | "float64";

/** How an input's values are drawn: any sign, positive, or away from zero (|x| in [0.5, 1.5]). */
export type Domain = "any" | "positive" | "nonzero";

export interface GradCase {
  name: string;
  /** Concrete shapes of the differentiated inputs. */
  inputs: number[][];
  /** Shapes declared in the graph (symbolic dims allowed); the concrete ones by default. */
  declared?: Shape[];
  domains?: Domain[];
  build: (xs: Value[], g: Graph) => Value;
  /** Dtype of the gradient graph: float64 unless an op lacks a double kernel in onnxruntime-web. */
  dtype?: FloatDType;
  /** Dtype of the forward graph for finite differences; `dtype` by default. */
  numericDType?: FloatDType;
}

export interface GradResult {
  /** max |analytic - numeric| / max(|analytic|, |numeric|) over all inputs. */
  relError: number;
  analytic: Float64Array[];
  numeric: Float64Array[];
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(random: () => number, n: number, domain: Domain): number[] {
  return Array.from({ length: n }, () => {
    const u = random();
    if (domain === "positive") return 0.5 + 1.5 * u;
    if (domain === "nonzero") return (random() < 0.5 ? -1 : 1) * (0.5 + u);
    return 2 * u - 1;
  });
}

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

function buildGraph(c: GradCase, dtype: FloatDType, withGradients: boolean, rValues: (shape: Shape) => number[]): Uint8Array {
  const g = new Graph(c.name.replace(/\W+/g, "_"));
  const xs = c.inputs.map((s, i) => g.input(`x${i}`, dtype, c.declared?.[i] ?? s));
  const y = c.build(xs, g);
  const concrete = y.shape.map((d) => (typeof d === "number" ? d : NaN));
  const r = g.initializer("R", tensor(y.dtype, concrete, rValues(y.shape)));
  const f = reduceSum(mul(y, r));
  g.output(f, "f");
  if (withGradients) gradients(g, f, xs).forEach((dx, i) => g.output(dx, `dx${i}`));
  return toModelProto(g);
}

export async function checkGradients(c: GradCase, seed = 1): Promise<GradResult> {
  const dtype = c.dtype ?? "float64";
  const random = rng(seed);
  const anyFloat32 = dtype === "float32" || c.numericDType === "float32";
  const xValues = c.inputs.map((s, i) =>
    draw(random, size(s), c.domains?.[i] ?? "any").map((v) => (anyFloat32 ? Math.fround(v) : v)),
  );
  let rCache: number[] | undefined;
  const rValues = (shape: Shape) => {
    if (shape.some((d) => typeof d !== "number")) {
      throw new Error(`${c.name}: the output needs static dims for R, got (${shape.join(", ")})`);
    }
    rCache ??= draw(rng(seed + 1000), size(shape as number[]), "any");
    return rCache;
  };
  const full = await createSession(buildGraph(c, dtype, true, rValues));
  const numericDType = c.numericDType ?? dtype;
  const fwd = await createSession(buildGraph(c, numericDType, false, rValues));
  const feedsOf = (values: number[][], as: FloatDType = numericDType): Record<string, HostTensor> =>
    Object.fromEntries(
      values.map((v, i) => [`x${i}`, { dtype: as, dims: c.inputs[i], data: as === "float64" ? Float64Array.from(v) : Float32Array.from(v) }]),
    );

  const out = await full.run(feedsOf(xValues, dtype));
  const analytic = c.inputs.map((_, i) => Float64Array.from(out[`dx${i}`].data as Float64Array));
  const h = numericDType === "float64" ? 1e-5 : 1e-2;
  const numeric: Float64Array[] = [];
  for (let i = 0; i < c.inputs.length; i++) {
    const n = new Float64Array(xValues[i].length);
    for (let j = 0; j < n.length; j++) {
      const at = (delta: number) => xValues.map((v, k) => (k === i ? v.map((e, m) => (m === j ? e + delta : e)) : v));
      const plus = Number((await fwd.run(feedsOf(at(h))))["f"].data[0]);
      const minus = Number((await fwd.run(feedsOf(at(-h))))["f"].data[0]);
      n[j] = (plus - minus) / (2 * h);
    }
    numeric.push(n);
  }
  await full.release();
  await fwd.release();

  let diff = 0;
  let scale = 1e-12;
  analytic.forEach((a, i) =>
    a.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - numeric[i][j]));
      scale = Math.max(scale, Math.abs(v), Math.abs(numeric[i][j]));
    }),
  );
  return { relError: diff / scale, analytic, numeric };
}
