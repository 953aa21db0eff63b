import type { Primitive, Value } from "../graph.ts";
import { unary } from "./util.ts";

export const Identity: Primitive = {
  opType: "Identity",
  backward: ({ dys: [dy] }) => [dy],
};

export function identity(x: Value): Value {
  return unary(Identity, x);
}

/** An Identity through which no gradient flows (the walk treats its output as a constant). */
export const StopGradient: Primitive = {
  opType: "Identity",
  backward: null,
};

export function stopGradient(x: Value): Value {
  return unary(StopGradient, x);
}
