import type { Primitive, Value } from "../graph.ts";
import { lessOrEqual } from "./less-or-equal.ts";
import { type Operand, binary } from "./util.ts";
import { where } from "./where.ts";

// y = min(a, b) elementwise: the gradient goes to a where a <= b, else to b.
export const Min: Primitive = {
  opType: "Min",
  backward: ({ inputs: [a, b], dys: [dy], wants }) => {
    if (!dy) return [null, null];
    const aWins = lessOrEqual(a, b);
    return [wants[0] ? where(aWins, dy, 0) : null, wants[1] ? where(aWins, 0, dy) : null];
  },
};

export function min(a: Operand, b: Operand): Value {
  return binary(Min, a, b);
}
