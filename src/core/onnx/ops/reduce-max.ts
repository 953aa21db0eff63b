import type { Primitive, Value } from "../graph.ts";
import { equal } from "./equal.ts";
import { keepReducedDims } from "./reduce-sum.ts";
import { int64s, normalizeAxes, reducedShape } from "./util.ts";
import { where } from "./where.ts";

// y = max over axes: dx = dy where x equals the max (every tied element gets it), else 0.
export const ReduceMax: Primitive = {
  opType: "ReduceMax",
  backward: ({ node, inputs: [x], outputs: [y], dys: [dy] }) => {
    if (!dy) return [null, null];
    return [where(equal(x, keepReducedDims(y, node)), keepReducedDims(dy, node), 0), null];
  },
};

export function reduceMax(x: Value, axes?: readonly number[], keepdims = false): Value {
  const ax = normalizeAxes("ReduceMax", axes, x);
  return x.graph.apply(ReduceMax, [x, int64s(x.graph, ax)], [{ dtype: x.dtype, shape: reducedShape(x, ax, keepdims) }], {
    keepdims: { int: keepdims ? 1 : 0 },
  })[0];
}
