import type { Primitive, Value } from "../graph.ts";
import { neg } from "./neg.ts";
import { type Operand, binary } from "./util.ts";

export const Sub: Primitive = {
  opType: "Sub",
  backward: ({ dys: [dy], wants }) => [dy, wants[1] && dy ? neg(dy) : null],
};

export function sub(a: Operand, b: Operand): Value {
  return binary(Sub, a, b);
}
