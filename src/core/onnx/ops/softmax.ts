import type { Primitive, Value } from "../graph.ts";
import { normalizeAxis } from "../shape.ts";
import { mul } from "./mul.ts";
import { reduceSum } from "./reduce-sum.ts";
import { sub } from "./sub.ts";
import { unary } from "./util.ts";

// y = softmax(x) along one axis: dx = y * (dy - sum(dy * y, axis)).
export const Softmax: Primitive = {
  opType: "Softmax",
  backward: ({ node, outputs: [y], dys: [dy] }) => {
    if (!dy) return [null];
    const axis = (node.attrs.axis as { int: number }).int;
    return [mul(y, sub(dy, reduceSum(mul(dy, y), [axis], true)))];
  },
};

/** Softmax along `axis` (the last by default), as opset 13+ defines it: one axis. */
export function softmax(x: Value, axis = -1): Value {
  return unary(Softmax, x, { axis: { int: normalizeAxis("Softmax", axis, x.rank, x.shape) } });
}
