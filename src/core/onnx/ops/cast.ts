import { type DType, type Primitive, type Value, isFloat } from "../graph.ts";

// Float to float casts pass the gradient back (cast to the input dtype); casts from or to
// integers and bools carry none.
export const Cast: Primitive = {
  opType: "Cast",
  backward: ({ inputs: [x], outputs: [y], dys: [dy] }) => [
    dy && isFloat(x.dtype) && isFloat(y.dtype) ? cast(dy, x.dtype) : null,
  ],
};

const ONNX_TYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

export function onnxDataType(dtype: DType): number {
  return ONNX_TYPE[dtype];
}

export function cast(x: Value, dtype: DType): Value {
  if (x.dtype === dtype) return x;
  return x.graph.apply(Cast, [x], [{ dtype, shape: x.shape }], { to: { int: ONNX_TYPE[dtype] } })[0];
}
