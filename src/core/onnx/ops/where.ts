import { type Primitive, type Value, assertDType, assertSameDType } from "../graph.ts";
import { broadcastShapes } from "../shape.ts";
import { type Operand, lift } from "./util.ts";

// y = cond ? a : b: da = dy where cond, db = dy where not cond; cond gets none.
export const Where: Primitive = {
  opType: "Where",
  backward: ({ inputs: [cond], dys: [dy], wants }) => {
    if (!dy) return [null, null, null];
    return [null, wants[1] ? where(cond, dy, 0) : null, wants[2] ? where(cond, 0, dy) : null];
  },
};

export function where(cond: Value, a: Operand, b: Operand): Value {
  assertDType("Where", "condition", cond, ["bool"]);
  const [x, y] = lift("Where", a, b);
  assertSameDType("Where", x, y);
  const shape = broadcastShapes("Where", cond.shape, x.shape, y.shape);
  return cond.graph.apply(Where, [cond, x, y], [{ dtype: x.dtype, shape }])[0];
}
