import type { Primitive, Value } from "../graph.ts";
import { mul } from "./mul.ts";
import { neg } from "./neg.ts";
import { type Operand, binary } from "./util.ts";

// y = a / b: da = dy / b, db = -dy * y / b
export const Div: Primitive = {
  opType: "Div",
  backward: ({ inputs: [, b], outputs: [y], dys: [dy], wants }) => {
    if (!dy) return [null, null];
    const da = div(dy, b);
    return [wants[0] ? da : null, wants[1] ? neg(mul(da, y)) : null];
  },
};

export function div(a: Operand, b: Operand): Value {
  return binary(Div, a, b);
}
