import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// A comparison: a bool mask, no gradient.
export const Less: Primitive = { opType: "Less", backward: null };

export function less(a: Operand, b: Operand): Value {
  return binary(Less, a, b, "bool");
}
