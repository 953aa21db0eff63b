import { ShapeError } from "../../errors.ts";
import type { Primitive, Shape, Value } from "../graph.ts";
import { type Dim, formatShape } from "../shape.ts";
import { END, slice } from "./slice.ts";
import { constantNumbers, int64s } from "./util.ts";

// Zero padding: dx = the slice of dy that x filled.
export const Pad: Primitive = {
  opType: "Pad",
  backward: ({ inputs: [x, pads], dys: [dy] }) => {
    if (!dy) return [null, null, null];
    const p = constantNumbers(pads);
    const r = x.rank;
    const axes = x.shape.map((_, i) => i);
    const starts = axes.map((i) => p[i]);
    const ends = axes.map((i) => (p[r + i] > 0 ? -p[r + i] : END));
    return [slice(dy, starts, ends, axes, undefined, x.shape), null, null];
  },
};

/**
 * Pads x with zeros: `before[i]` and `after[i]` elements on each axis (non-negative).
 * `shape`, when given, is the known result (gradient rules use it to keep dim names).
 */
export function pad(x: Value, before: readonly number[], after: readonly number[], shape?: Shape): Value {
  if (before.length !== x.rank || after.length !== x.rank || [...before, ...after].some((p) => p < 0)) {
    throw new ShapeError(
      `Pad: expected ${x.rank} non-negative pads before and after, got [${before.join(", ")}] and [${after.join(", ")}] for ${formatShape(x.shape)}`,
    );
  }
  const out: Shape = shape ?? x.shape.map((d, i): Dim => {
    const p = before[i] + after[i];
    if (p === 0) return d;
    return typeof d === "number" ? d + p : `${d}+${p}`;
  });
  const zero = x.graph.constant(0, x.dtype);
  return x.graph.apply(Pad, [x, int64s(x.graph, [...before, ...after]), zero], [{ dtype: x.dtype, shape: out }])[0];
}
