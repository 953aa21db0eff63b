import type { Primitive, Value } from "../graph.ts";
import { mul } from "./mul.ts";
import { sub } from "./sub.ts";
import { unary } from "./util.ts";

// y = tanh(x): dx = dy * (1 - y^2)
export const Tanh: Primitive = {
  opType: "Tanh",
  backward: ({ outputs: [y], dys: [dy] }) => [dy ? mul(dy, sub(1, mul(y, y))) : null],
};

export function tanh(x: Value): Value {
  return unary(Tanh, x);
}
