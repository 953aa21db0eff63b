import type { Primitive, Value } from "../graph.ts";
import { div } from "./div.ts";
import { mul } from "./mul.ts";
import { unary } from "./util.ts";

// y = sqrt(x): dx = dy * 0.5 / y
export const Sqrt: Primitive = {
  opType: "Sqrt",
  backward: ({ outputs: [y], dys: [dy] }) => [dy ? div(mul(dy, 0.5), y) : null],
};

export function sqrt(x: Value): Value {
  return unary(Sqrt, x);
}
