import type { Primitive, Value } from "../graph.ts";
import { exp } from "./exp.ts";
import { mul } from "./mul.ts";
import { neg } from "./neg.ts";
import { unary } from "./util.ts";

// y = erf(x): dx = dy * 2/sqrt(pi) * exp(-x^2)
export const Erf: Primitive = {
  opType: "Erf",
  backward: ({ inputs: [x], dys: [dy] }) => [dy ? mul(dy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))) : null],
};

export function erf(x: Value): Value {
  return unary(Erf, x);
}
