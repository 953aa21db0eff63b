import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// A comparison: a bool mask, no gradient.
export const LessOrEqual: Primitive = { opType: "LessOrEqual", backward: null };

export function lessOrEqual(a: Operand, b: Operand): Value {
  return binary(LessOrEqual, a, b, "bool");
}
