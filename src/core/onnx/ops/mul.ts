import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// d(a * b) = (dy * b, dy * a)
export const Mul: Primitive = {
  opType: "Mul",
  backward: ({ inputs: [a, b], dys: [dy], wants }) => [
    wants[0] && dy ? mul(dy, b) : null,
    wants[1] && dy ? mul(dy, a) : null,
  ],
};

export function mul(a: Operand, b: Operand): Value {
  return binary(Mul, a, b);
}
