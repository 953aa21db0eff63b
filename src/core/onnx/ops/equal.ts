import type { Primitive, Value } from "../graph.ts";
import { type Operand, binary } from "./util.ts";

// A comparison: a bool mask, no gradient.
export const Equal: Primitive = { opType: "Equal", backward: null };

export function equal(a: Operand, b: Operand): Value {
  return binary(Equal, a, b, "bool");
}
