import type { Primitive, Value } from "../graph.ts";
import { greater } from "./greater.ts";
import { where } from "./where.ts";
import { unary } from "./util.ts";

// y = max(x, 0): dx = dy where x > 0, else 0
export const Relu: Primitive = {
  opType: "Relu",
  backward: ({ inputs: [x], dys: [dy] }) => [dy ? where(greater(x, 0), dy, 0) : null],
};

export function relu(x: Value): Value {
  return unary(Relu, x);
}
