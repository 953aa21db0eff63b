import type { Primitive, Value } from "../graph.ts";
import { unary } from "./util.ts";

export const Neg: Primitive = {
  opType: "Neg",
  backward: ({ dys: [dy] }) => [dy ? neg(dy) : null],
};

export function neg(x: Value): Value {
  return unary(Neg, x);
}
