import { ShapeError } from "../../errors.ts";
import { type Primitive, type Value, assertDType, isFloat } from "../graph.ts";
import { normalizeAxis } from "../shape.ts";
import { cast } from "./cast.ts";
import { zerosLike } from "./constant-of-shape.ts";
import { scatterNDAdd } from "./scatter-nd.ts";
import { unsqueeze } from "./unsqueeze.ts";

// y = data[indices] along axis 0 (an embedding lookup):
//   d(data) = zeros(data) with dy added at the rows looked up (ScatterND, reduction "add"),
//   so a row looked up twice gets both gradients.
export const Gather: Primitive = {
  opType: "Gather",
  backward: ({ node, inputs: [data, indices], dys: [dy] }) => {
    if (!dy || !isFloat(data.dtype)) return [null, null];
    if ((node.attrs.axis as { int: number }).int !== 0) throw new ShapeError("Gather gradient: expected axis 0");
    const rows = unsqueeze(cast(indices, "int64"), [-1]); // (..., 1)
    return [scatterNDAdd(zerosLike(data), rows, dy), null];
  },
};

/** data gathered at `indices` along `axis`: data.shape[:axis] + indices.shape + data.shape[axis+1:]. */
export function gather(data: Value, indices: Value, axis = 0): Value {
  assertDType("Gather", "indices", indices, ["int64", "int32"]);
  const ax = normalizeAxis("Gather", axis, data.rank, data.shape);
  const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
  return data.graph.apply(Gather, [data, indices], [{ dtype: data.dtype, shape }], { axis: { int: ax } })[0];
}
