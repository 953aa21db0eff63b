import type { Primitive, Value } from "../graph.ts";
import { normalizeAxis } from "../shape.ts";
import { exp } from "./exp.ts";
import { mul } from "./mul.ts";
import { reduceSum } from "./reduce-sum.ts";
import { sub } from "./sub.ts";
import { unary } from "./util.ts";

// y = log softmax(x) along one axis: dx = dy - exp(y) * sum(dy, axis).
// A primitive rather than a composite: one fused, numerically stable kernel.
export const LogSoftmax: Primitive = {
  opType: "LogSoftmax",
  backward: ({ node, outputs: [y], dys: [dy] }) => {
    if (!dy) return [null];
    const axis = (node.attrs.axis as { int: number }).int;
    return [sub(dy, mul(exp(y), reduceSum(dy, [axis], true)))];
  },
};

export function logSoftmax(x: Value, axis = -1): Value {
  return unary(LogSoftmax, x, { axis: { int: normalizeAxis("LogSoftmax", axis, x.rank, x.shape) } });
}
