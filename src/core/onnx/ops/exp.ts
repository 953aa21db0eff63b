import type { Primitive, Value } from "../graph.ts";
import { mul } from "./mul.ts";
import { unary } from "./util.ts";

// y = exp(x): dx = dy * y
export const Exp: Primitive = {
  opType: "Exp",
  backward: ({ outputs: [y], dys: [dy] }) => [dy ? mul(dy, y) : null],
};

export function exp(x: Value): Value {
  return unary(Exp, x);
}
