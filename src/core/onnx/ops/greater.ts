import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// A comparison: a bool mask, no gradient.
export const Greater: Primitive = { opType: "Greater", backward: null };

export function greater(a: Operand, b: Operand): Value {
  return binary(Greater, a, b, "bool");
}
