import { ShapeError } from "../../errors.ts";
import type { Primitive, Shape, Value } from "../graph.ts";
import { type Dim, dimQuotient, formatShape, isStatic, sameShape } from "../shape.ts";
import { shapeOf } from "./shape-of.ts";
import { int64s } from "./util.ts";

// dx = dy reshaped back to x's shape.
export const Reshape: Primitive = {
  opType: "Reshape",
  backward: ({ inputs: [x], dys: [dy] }) => [dy ? reshapeAs(dy, x) : null, null],
};

/**
 * Reshape to `dims`. A symbolic dim equal to x's dim at the same position is copied (ONNX
 * 0); one other dim may be unknown: -1, or a name such as "B*T" that must equal what is
 * left of x's size (ONNX -1).
 *
 *   reshape(x, ["B", "T", 12, 64])   // (B, T, 768) -> (B, T, 12, 64)
 *   reshape(x, ["B*T", 768])         // (B, T, 768) -> (B*T, 768)
 */
export function reshape(x: Value, dims: readonly Dim[]): Value {
  const spec: number[] = [];
  const known: Dim[] = [];
  let inferAt = -1;
  dims.forEach((d, i) => {
    if (typeof d === "number" && d > 0) {
      spec.push(d);
      known.push(d);
    } else if (typeof d === "string" && x.shape[i] === d) {
      spec.push(0);
      known.push(d);
    } else if (d === -1 || typeof d === "string") {
      if (inferAt >= 0) {
        throw new ShapeError(`Reshape: expected at most one dim to infer in ${formatShape(dims)}, from ${formatShape(x.shape)}`);
      }
      inferAt = i;
      spec.push(-1);
      known.push(1);
    } else {
      throw new ShapeError(`Reshape: expected dims > 0, names or -1, got ${formatShape(dims)}`);
    }
  });
  const shape: Dim[] = [...dims];
  const left = dimQuotient(x.shape, known);
  if (inferAt >= 0) {
    const given = dims[inferAt];
    if (left === undefined ? given === -1 : typeof given === "string" && given !== String(left)) {
      throw new ShapeError(
        `Reshape: expected ${formatShape(x.shape)} to fit ${formatShape(dims)}, got ${left ?? "no whole dim"} for the unknown dim`,
      );
    }
    shape[inferAt] = typeof given === "string" ? given : (left as Dim);
  } else if (left !== 1) {
    throw new ShapeError(`Reshape: expected as many elements as ${formatShape(x.shape)}, got ${formatShape(dims)}`);
  }
  return reshapeTo(x, int64s(x.graph, spec), shape);
}

/** x reshaped to the shape of `like` (read at run time when it has symbolic dims). */
export function reshapeAs(x: Value, like: Value): Value {
  if (sameShape(x.shape, like.shape)) return x;
  return reshapeTo(x, isStatic(like.shape) ? int64s(x.graph, like.shape) : shapeOf(like), like.shape);
}

/** x reshaped by a 1-D int64 shape Value; `target` is the resulting shape, statically. */
export function reshapeTo(x: Value, shapeValue: Value, target: Shape): Value {
  return x.graph.apply(Reshape, [x, shapeValue], [{ dtype: x.dtype, shape: target }])[0];
}
