import { type Primitive, type Value, assertDType } from "../graph.ts";

// ONNX RandomUniformLike: U[low, high) noise shaped like x. `seed` is an attribute, so it
// is fixed when the graph is built; onnxruntime advances the generator on every run of a
// session, so successive runs differ but a new session replays the same sequence.
// On WebGPU this op runs on the CPU (no GPU kernel).
export const RandomUniformLike: Primitive = { opType: "RandomUniformLike", backward: null };

export function randomUniformLike(x: Value, opts: { low?: number; high?: number; seed?: number } = {}): Value {
  assertDType("RandomUniformLike", "input", x, ["float32", "float64", "float16"]);
  const attrs: Record<string, { float: number }> = {
    low: { float: opts.low ?? 0 },
    high: { float: opts.high ?? 1 },
  };
  if (opts.seed !== undefined) attrs.seed = { float: opts.seed };
  return x.graph.apply(RandomUniformLike, [x], [{ dtype: x.dtype, shape: x.shape }], attrs)[0];
}
