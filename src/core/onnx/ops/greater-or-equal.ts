import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// A comparison: a bool mask, no gradient.
export const GreaterOrEqual: Primitive = { opType: "GreaterOrEqual", backward: null };

export function greaterOrEqual(a: Operand, b: Operand): Value {
  return binary(GreaterOrEqual, a, b, "bool");
}
