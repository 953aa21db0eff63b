import type { Primitive, Value } from "../graph.ts";
import { type Shape, isStatic } from "../shape.ts";
import { cast } from "./cast.ts";
import { div } from "./div.ts";
import { expandAs } from "./expand.ts";
import { gather } from "./gather.ts";
import { keepReducedDims } from "./reduce-sum.ts";
import { reduceProd } from "./reduce-prod.ts";
import { shapeOf } from "./shape-of.ts";
import { constantNumbers, int64s, normalizeAxes, reducedShape } from "./util.ts";

// y = mean over axes: dx = dy / n, with the reduced dims put back, expanded to x's shape.
export const ReduceMean: Primitive = {
  opType: "ReduceMean",
  backward: ({ node, inputs: [x, axes], dys: [dy] }) => {
    if (!dy) return [null, null];
    return [expandAs(div(keepReducedDims(dy, node), countOf(x, constantNumbers(axes))), x), null];
  },
};

/** Mean over `axes` (all when omitted). Axes travel as an input, which needs opset 18. */
export function reduceMean(x: Value, axes?: readonly number[], keepdims = false): Value {
  const ax = normalizeAxes("ReduceMean", axes, x);
  return x.graph.apply(ReduceMean, [x, int64s(x.graph, ax)], [{ dtype: x.dtype, shape: reducedShape(x, ax, keepdims) }], {
    keepdims: { int: keepdims ? 1 : 0 },
  })[0];
}

// The number of elements reduced over: a constant for static dims, else read at run time.
function countOf(x: Value, axes: number[]): Value {
  const dims: Shape = axes.map((a) => x.shape[a]);
  if (isStatic(dims)) return x.graph.constant(dims.reduce((p, d) => p * d, 1), x.dtype);
  return cast(reduceProd(gather(shapeOf(x), int64s(x.graph, axes))), x.dtype);
}
