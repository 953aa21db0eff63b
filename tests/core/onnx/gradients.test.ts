// Every differentiable primitive against central finite differences, in float64 where
// onnxruntime-web has double kernels. Two ops have none (Erf, LayerNormalization):
//  - LayerNormalization: the hand-written rule runs in float32 and is compared with finite
//    differences of the float64 graph (where layerNorm is built from primitives), so the
//    reference is exact and only float32 rounding is left (tolerance 1e-5).
//  - Erf: analytic and finite differences both in float32 (h = 1e-2, tolerance 1e-3).

import { describe, expect, it } from "vitest";
import * as o from "../../../src/core/onnx/index.ts";
import { type GradCase, checkGradients } from "./gradcheck.ts";

const F64_TOLERANCE = 1e-6;
const MIXED_TOLERANCE = 1e-5;
const F32_TOLERANCE = 1e-3;

const cond = (g: o.Graph, dims: number[]) =>
  g.constant(
    Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)),
    "bool",
    dims,
  );

const cases: GradCase[] = [
  { name: "Add (2,3,4)+(4)", inputs: [[2, 3, 4], [4]], build: ([a, b]) => o.add(a, b) },
  { name: "Add (2,1,4)+(3,1)", inputs: [[2, 1, 4], [3, 1]], build: ([a, b]) => o.add(a, b) },
  { name: "Sub (4)-(2,3,4)", inputs: [[4], [2, 3, 4]], build: ([a, b]) => o.sub(a, b) },
  { name: "Mul (2,1,4)*(3,1)", inputs: [[2, 1, 4], [3, 1]], build: ([a, b]) => o.mul(a, b) },
  { name: "Mul x*x (a value used twice)", inputs: [[2, 3]], build: ([a]) => o.mul(a, a) },
  { name: "Div (2,3,4)/(3,1)", inputs: [[2, 3, 4], [3, 1]], domains: ["any", "nonzero"], build: ([a, b]) => o.div(a, b) },
  { name: "Neg", inputs: [[2, 3]], build: ([a]) => o.neg(a) },
  { name: "Exp", inputs: [[2, 3]], build: ([a]) => o.exp(a) },
  { name: "Log", inputs: [[2, 3]], domains: ["positive"], build: ([a]) => o.log(a) },
  { name: "Sqrt", inputs: [[2, 3]], domains: ["positive"], build: ([a]) => o.sqrt(a) },
  { name: "Tanh", inputs: [[2, 3]], build: ([a]) => o.tanh(a) },
  { name: "Relu", inputs: [[2, 3]], domains: ["nonzero"], build: ([a]) => o.relu(a) },
  { name: "Pow 2", inputs: [[2, 3]], build: ([a]) => o.pow(a, 2) },
  { name: "Pow 3", inputs: [[2, 3]], build: ([a]) => o.pow(a, 3) },
  { name: "Pow -0.5", inputs: [[2, 3]], domains: ["positive"], build: ([a]) => o.pow(a, -0.5) },
  { name: "Identity", inputs: [[2, 3]], build: ([a]) => o.identity(a) },
  { name: "MatMul (3,4)@(4,5)", inputs: [[3, 4], [4, 5]], build: ([a, b]) => o.matmul(a, b) },
  { name: "MatMul (2,3,4)@(4,5) (weight path)", inputs: [[2, 3, 4], [4, 5]], build: ([a, b]) => o.matmul(a, b) },
  { name: "MatMul (2,3,4)@(2,4,5)", inputs: [[2, 3, 4], [2, 4, 5]], build: ([a, b]) => o.matmul(a, b) },
  { name: "MatMul (2,1,3,4)@(3,4,2) batch broadcast", inputs: [[2, 1, 3, 4], [3, 4, 2]], build: ([a, b]) => o.matmul(a, b) },
  { name: "MatMul (3,4)@(2,4,5) a broadcast", inputs: [[3, 4], [2, 4, 5]], build: ([a, b]) => o.matmul(a, b) },
  {
    name: "Gather rows, one looked up twice",
    inputs: [[5, 3]],
    build: ([a], g) => o.gather(a, g.constant([0, 2, 2, 4, 1, 2], "int64", [2, 3])),
  },
  { name: "Reshape (2,3,4)->(6,4)", inputs: [[2, 3, 4]], build: ([a]) => o.reshape(a, [6, 4]) },
  { name: "Reshape (2,3,4)->(2,-1)", inputs: [[2, 3, 4]], build: ([a]) => o.reshape(a, [2, -1]) },
  { name: "Transpose [2,0,1]", inputs: [[2, 3, 4]], build: ([a]) => o.transpose(a, [2, 0, 1]) },
  { name: "Softmax last axis", inputs: [[2, 3, 4]], build: ([a]) => o.softmax(a) },
  { name: "Softmax axis 1", inputs: [[2, 3, 4]], build: ([a]) => o.softmax(a, 1) },
  { name: "LogSoftmax", inputs: [[2, 5]], build: ([a]) => o.logSoftmax(a) },
  {
    name: "LayerNormalization (float32 rule vs float64 reference)",
    inputs: [[2, 3, 4], [4], [4]],
    dtype: "float32",
    numericDType: "float64",
    build: ([x, s, b]) => o.layerNorm(x, s, b, { epsilon: 1e-5 }),
  },
  {
    name: "LayerNormalization axis 1 (float32 rule vs float64 reference)",
    inputs: [[2, 3, 4], [3, 4], [3, 4]],
    dtype: "float32",
    numericDType: "float64",
    build: ([x, s, b]) => o.layerNorm(x, s, b, { axis: 1, epsilon: 1e-5 }),
  },
  {
    name: "LayerNormalization by primitives (float64)",
    inputs: [[2, 3, 4], [4], [4]],
    build: ([x, s, b]) => o.layerNorm(x, s, b, { epsilon: 1e-5 }),
  },
  { name: "Erf (float32)", inputs: [[2, 3]], dtype: "float32", build: ([a]) => o.erf(a) },
  { name: "Where cond?(2,3,4):(4)", inputs: [[2, 3, 4], [4]], build: ([a, b], g) => o.where(cond(g, [2, 3, 4]), a, b) },
  { name: "Where cond(3,1)?(1,4):(2,3,1)", inputs: [[1, 4], [2, 3, 1]], build: ([a, b], g) => o.where(cond(g, [3, 1]), a, b) },
  { name: "ReduceSum axis 1", inputs: [[2, 3, 4]], build: ([a]) => o.reduceSum(a, [1]) },
  { name: "ReduceSum axes [0,2] keepdims", inputs: [[2, 3, 4]], build: ([a]) => o.reduceSum(a, [0, 2], true) },
  { name: "ReduceSum all", inputs: [[2, 3]], build: ([a]) => o.reduceSum(a) },
  { name: "ReduceMean axes [0,2]", inputs: [[2, 3, 4]], build: ([a]) => o.reduceMean(a, [0, 2]) },
  { name: "ReduceMean -1 keepdims", inputs: [[2, 3, 4]], build: ([a]) => o.reduceMean(a, [-1], true) },
  { name: "ReduceMax -1", inputs: [[2, 3, 4]], build: ([a]) => o.reduceMax(a, [-1]) },
  { name: "Cast float32 -> float64 -> float32", inputs: [[2, 3]], dtype: "float32", build: ([a]) => o.cast(o.cast(a, "float64"), "float32") },
  { name: "Concat axis 1", inputs: [[2, 3], [2, 2], [2, 1]], build: ([a, b, c]) => o.concat([a, b, c], 1) },
  { name: "Slice [1:3, 1:]", inputs: [[4, 5]], build: ([a]) => o.slice(a, [1, 1], [3, o.END], [0, 1]) },
  { name: "Slice [-3:-1] on axis 1", inputs: [[2, 5]], build: ([a]) => o.slice(a, [-3], [-1], [1]) },
  { name: "Pad", inputs: [[2, 3]], build: ([a]) => o.pad(a, [1, 0], [0, 2]) },
  { name: "Unsqueeze [0,3]", inputs: [[2, 3]], build: ([a]) => o.unsqueeze(a, [0, 3]) },
  { name: "Squeeze [1]", inputs: [[2, 1, 3]], build: ([a]) => o.squeeze(a, [1]) },
  { name: "Expand (3,1)->(2,3,4)", inputs: [[3, 1]], build: ([a]) => o.expand(a, [2, 3, 4]) },
  { name: "Max (2,3),(3)", inputs: [[2, 3], [3]], build: ([a, b]) => o.max(a, b) },
  { name: "Min (2,3),(2,1)", inputs: [[2, 3], [2, 1]], build: ([a, b]) => o.min(a, b) },
];

const composites: GradCase[] = [
  { name: "GELU erf form (float32)", inputs: [[2, 3]], dtype: "float32", build: ([a]) => o.gelu(a) },
  { name: "GELU tanh form", inputs: [[2, 3]], build: ([a]) => o.geluTanh(a) },
  { name: "linear (in, out)", inputs: [[2, 3, 4], [4, 5], [5]], build: ([x, w, b]) => o.linear(x, w, b) },
  { name: "linear (out, in)", inputs: [[2, 3, 4], [5, 4], [5]], build: ([x, w, b]) => o.linear(x, w, b, "out_in") },
  {
    name: "attention-like block with symbolic B",
    inputs: [[2, 3, 4], [4, 4]],
    declared: [["B", 3, 4], [4, 4]],
    build: ([x, w]) => {
      const q = o.matmul(x, w); // (B, 3, 4)
      const scores = o.matmul(q, o.transpose(x, [0, 2, 1])); // (B, 3, 3)
      const h = o.matmul(o.softmax(scores), x); // (B, 3, 4)
      const flat = o.reshape(h, ["3*B", 4]); // (3*B, 4)
      return o.reduceMean(o.reshape(flat, ["B", 3, 4]), [0]); // (3, 4): R needs static dims
    },
  },
  {
    name: "ReduceMean over a symbolic dim (count read at run time)",
    inputs: [[2, 3, 4]],
    declared: [["B", "T", 4]],
    build: ([x]) => o.reduceSum(o.reduceMean(o.mul(x, x), [0, 1]), [0], true),
  },
  {
    name: "Slice and Concat with a symbolic batch dim",
    inputs: [[2, 5], [2, 1]],
    declared: [["B", 5], ["B", 1]],
    build: ([x, y]) => o.reduceSum(o.concat([o.slice(x, [1], [o.END], [1]), y], 1), [0], true),
  },
  {
    name: "layerNorm + broadcasting over symbolic B (float64 by primitives)",
    inputs: [[2, 3, 4], [4], [4]],
    declared: [["B", "T", 4], [4], [4]],
    build: ([x, s, b]) => o.reduceSum(o.layerNorm(x, s, b, { epsilon: 1e-5 }), [0, 1]),
  },
];

function toleranceOf(c: GradCase): number {
  if ((c.dtype ?? "float64") === "float64") return F64_TOLERANCE;
  return c.numericDType === "float64" ? MIXED_TOLERANCE : F32_TOLERANCE;
}

describe("gradients of primitives match finite differences", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const { relError } = await checkGradients(c);
    expect(relError).toBeLessThan(toleranceOf(c));
  });
});

describe("gradients of composites match finite differences", () => {
  it.each(composites.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const { relError } = await checkGradients(c);
    expect(relError).toBeLessThan(toleranceOf(c));
  });
});
