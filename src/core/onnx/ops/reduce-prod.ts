import type { Primitive, Value } from "../graph.ts";
import { int64s, normalizeAxes, reducedShape } from "./util.ts";

// Used on integer shapes (element counts); differentiating through it is not supported.
export const ReduceProd: Primitive = {
  opType: "ReduceProd",
  backward: () => {
    throw new Error("ReduceProd: no gradient rule");
  },
};

export function reduceProd(x: Value, axes?: readonly number[], keepdims = false): Value {
  const ax = normalizeAxes("ReduceProd", axes, x);
  return x.graph.apply(ReduceProd, [x, int64s(x.graph, ax)], [{ dtype: x.dtype, shape: reducedShape(x, ax, keepdims) }], {
    keepdims: { int: keepdims ? 1 : 0 },
  })[0];
}
