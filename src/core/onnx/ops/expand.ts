import type { Primitive, Shape, Value } from "../graph.ts";
import { broadcastShapes, isStatic, sameShape } from "../shape.ts";
import { shapeOf } from "./shape-of.ts";
import { int64s } from "./util.ts";

// y = x broadcast to a shape: dx = dy (the walk sums the broadcast axes away).
export const Expand: Primitive = {
  opType: "Expand",
  backward: ({ dys: [dy] }) => [dy, null],
};

/** x broadcast to static dims (numpy rules, both ways, as ONNX Expand). */
export function expand(x: Value, dims: readonly number[]): Value {
  const shape = broadcastShapes("Expand", x.shape, dims);
  return x.graph.apply(Expand, [x, int64s(x.graph, dims)], [{ dtype: x.dtype, shape }])[0];
}

/** x broadcast to the shape of `like` (read at run time when it has symbolic dims). */
export function expandAs(x: Value, like: Value): Value {
  if (sameShape(x.shape, like.shape)) return x;
  if (isStatic(like.shape)) return expand(x, like.shape);
  return expandTo(x, shapeOf(like), like.shape);
}

/** x broadcast to the shape held by a 1-D int64 Value; `target` is that shape, statically. */
export function expandTo(x: Value, shapeValue: Value, target: Shape): Value {
  const shape = broadcastShapes("Expand", x.shape, target);
  return x.graph.apply(Expand, [x, shapeValue], [{ dtype: x.dtype, shape }])[0];
}
