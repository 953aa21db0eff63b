import type { Primitive, Value } from "../graph.ts";
import { div } from "./div.ts";
import { unary } from "./util.ts";

// y = log(x): dx = dy / x
export const Log: Primitive = {
  opType: "Log",
  backward: ({ inputs: [x], dys: [dy] }) => [dy ? div(dy, x) : null],
};

export function log(x: Value): Value {
  return unary(Log, x);
}
