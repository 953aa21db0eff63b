import { type Primitive, type Value, assertDType } from "../graph.ts";
import { unary } from "./util.ts";

export const Not: Primitive = { opType: "Not", backward: null };

export function not(x: Value): Value {
  assertDType("Not", "input", x, ["bool"]);
  return unary(Not, x);
}
