import type { Primitive, Value } from "../graph.ts";

// ONNX Shape: the dims of a value as a 1-D int64 tensor, for ops whose target shape has
// symbolic dims (Reshape back to an input's shape, Expand to it, zeros like it).
export const ShapeOp: Primitive = { opType: "Shape", backward: null };

export function shapeOf(x: Value): Value {
  if (x.producer?.op === ShapeOp) return x;
  return x.graph.apply(ShapeOp, [x], [{ dtype: "int64", shape: [x.rank] }])[0];
}
