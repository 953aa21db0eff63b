import type { Node, Primitive, Value } from "../graph.ts";
import { expandAs } from "./expand.ts";
import { unsqueeze } from "./unsqueeze.ts";
import { constantNumbers, int64s, normalizeAxes, reducedShape } from "./util.ts";

// y = sum over axes: dx = dy, with the reduced dims put back, expanded to x's shape.
export const ReduceSum: Primitive = {
  opType: "ReduceSum",
  backward: ({ node, inputs: [x], dys: [dy] }) => [dy ? expandAs(keepReducedDims(dy, node), x) : null, null],
};

/** Sum over `axes` (all when omitted). Axes travel as an input (opset 13+). */
export function reduceSum(x: Value, axes?: readonly number[], keepdims = false): Value {
  const ax = normalizeAxes("ReduceSum", axes, x);
  return x.graph.apply(ReduceSum, [x, int64s(x.graph, ax)], [{ dtype: x.dtype, shape: reducedShape(x, ax, keepdims) }], {
    keepdims: { int: keepdims ? 1 : 0 },
  })[0];
}

/** For the gradients of reductions: dy with the reduced axes back as 1s. */
export function keepReducedDims(dy: Value, node: Node): Value {
  const keepdims = node.attrs.keepdims;
  if (keepdims && "int" in keepdims && keepdims.int === 1) return dy;
  return unsqueeze(dy, constantNumbers(node.inputs[1]));
}
