import { ShapeError } from "../../errors.ts";
import type { Primitive, Value } from "../graph.ts";
import { formatShape } from "../shape.ts";
import { unsqueeze } from "./unsqueeze.ts";
import { constantNumbers, int64s, normalizeAxes } from "./util.ts";

export const Squeeze: Primitive = {
  opType: "Squeeze",
  backward: ({ inputs: [, axes], dys: [dy] }) => [dy ? unsqueeze(dy, constantNumbers(axes)) : null, null],
};

/** Removes the size-1 dims at `axes`. */
export function squeeze(x: Value, axes: readonly number[]): Value {
  const ax = normalizeAxes("Squeeze", axes, x);
  for (const a of ax) {
    if (x.shape[a] !== 1) {
      throw new ShapeError(`Squeeze: expected dim ${a} of size 1, got ${x.shape[a]} in ${formatShape(x.shape)}`);
    }
  }
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return x.graph.apply(Squeeze, [x, int64s(x.graph, ax)], [{ dtype: x.dtype, shape }])[0];
}
