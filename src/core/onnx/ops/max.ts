import type { Primitive, Value } from "../graph.ts";
import { greaterOrEqual } from "./greater-or-equal.ts";
import { type Operand, binary } from "./util.ts";
import { where } from "./where.ts";

// y = max(a, b) elementwise: the gradient goes to a where a >= b, else to b.
export const Max: Primitive = {
  opType: "Max",
  backward: ({ inputs: [a, b], dys: [dy], wants }) => {
    if (!dy) return [null, null];
    const aWins = greaterOrEqual(a, b);
    return [wants[0] ? where(aWins, dy, 0) : null, wants[1] ? where(aWins, 0, dy) : null];
  },
};

export function max(a: Operand, b: Operand): Value {
  return binary(Max, a, b);
}
