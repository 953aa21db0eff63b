import { ShapeError } from "../../errors.ts";
import { type Primitive, type Value, assertDType, assertSameDType } from "../graph.ts";
import { formatShape, sameShape } from "../shape.ts";

// ONNX ScatterND with reduction "add": used by Gather's gradient. Nothing differentiates
// through it yet, so asking for its gradient is an error rather than a silent zero.
export const ScatterNDAdd: Primitive = {
  opType: "ScatterND",
  backward: () => {
    throw new Error("ScatterND: no gradient rule (it is only used inside gradients)");
  },
};

/** data with `updates` added at `indices` (..., k): updates is indices.shape[:-1] + data.shape[k:]. */
export function scatterNDAdd(data: Value, indices: Value, updates: Value): Value {
  assertDType("ScatterND", "indices", indices, ["int64"]);
  assertSameDType("ScatterND", data, updates);
  const k = indices.shape[indices.rank - 1];
  if (typeof k !== "number") throw new ShapeError(`ScatterND: expected a static last dim of indices, got ${formatShape(indices.shape)}`);
  const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
  if (!sameShape(expected, updates.shape)) {
    throw new ShapeError(`ScatterND: expected updates of shape ${formatShape(expected)}, got ${formatShape(updates.shape)}`);
  }
  return data.graph.apply(ScatterNDAdd, [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], {
    reduction: { string: "add" },
  })[0];
}
