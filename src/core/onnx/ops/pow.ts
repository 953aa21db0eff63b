import type { Primitive, Value } from "../graph.ts";
import { mul } from "./mul.ts";

// y = x^p for a constant p: dx = dy * p * x^(p-1). The exponent is a constant input,
// never differentiated.
export const Pow: Primitive = {
  opType: "Pow",
  backward: ({ inputs: [x, p], dys: [dy] }) => {
    if (!dy) return [null, null];
    const stored = x.graph.dataOf(p);
    if (!stored || stored.data.length !== 1) throw new Error("Pow: the exponent must be a scalar constant (use pow())");
    const exponent = Number(stored.data[0]);
    const dx = exponent === 1 ? dy : mul(dy, mul(exponent === 2 ? x : pow(x, exponent - 1), exponent));
    return [dx, null];
  },
};

/** x to a constant power. */
export function pow(x: Value, exponent: number): Value {
  const p = x.graph.constant(exponent, x.dtype);
  return x.graph.apply(Pow, [x, p], [{ dtype: x.dtype, shape: x.shape }])[0];
}
