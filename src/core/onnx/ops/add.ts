import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// d(a + b) = (dy, dy); the walk sums broadcast axes away.
export const Add: Primitive = {
  opType: "Add",
  backward: ({ dys: [dy] }) => [dy, dy],
};

export function add(a: Operand, b: Operand): Value {
  return binary(Add, a, b);
}
