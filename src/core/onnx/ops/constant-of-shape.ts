import { type DType, type Primitive, type Shape, type Value, tensor } from "../graph.ts";
import { isStatic } from "../shape.ts";
import { shapeOf } from "./shape-of.ts";
import { int64s } from "./util.ts";

export const ConstantOfShape: Primitive = { opType: "ConstantOfShape", backward: null };

/**
 * A tensor filled with `value`, shaped like `like` (or given a 1-D int64 shape Value and the
 * static shape it holds). Big zero tensors (gradients of embedding tables) are made at run
 * time, so they never bloat the model file.
 */
export function fill(like: Value, value: number, dtype: DType = like.dtype): Value {
  const shape = isStatic(like.shape) ? int64s(like.graph, like.shape) : shapeOf(like);
  return fillShape(shape, like.shape, value, dtype);
}

export function fillShape(shapeValue: Value, shape: Shape, value: number, dtype: DType): Value {
  return shapeValue.graph.apply(ConstantOfShape, [shapeValue], [{ dtype, shape }], {
    value: { tensor: tensor(dtype, [1], [value]) },
  })[0];
}

export function zerosLike(x: Value): Value {
  return fill(x, 0);
}
