import { ShapeError } from "../../errors.ts";
import type { Primitive, Shape, Value } from "../graph.ts";
import { type Dim, formatShape, normalizeAxis } from "../shape.ts";
import { pad } from "./pad.ts";
import { constantNumbers, int64s } from "./util.ts";

/** An `end` past any dim: "to the end". */
export const END = 2 ** 53 - 1;

// dx = dy padded with zeros back to x's shape (step 1 only).
export const Slice: Primitive = {
  opType: "Slice",
  backward: ({ inputs: [x, starts, ends, axes, steps], dys: [dy] }) => {
    if (!dy) return [null, null, null, null, null];
    const ax = constantNumbers(axes);
    const st = constantNumbers(starts);
    const en = constantNumbers(ends);
    if (constantNumbers(steps).some((s) => s !== 1)) throw new ShapeError("Slice gradient: expected steps of 1");
    const before = x.shape.map(() => 0);
    const after = x.shape.map(() => 0);
    ax.forEach((a, k) => {
      const dim = x.shape[a];
      if (typeof dim === "number") {
        const clamp = (i: number) => Math.max(0, Math.min(dim, i < 0 ? i + dim : i));
        before[a] = clamp(st[k]);
        after[a] = dim - Math.max(clamp(st[k]), clamp(en[k]));
      } else if (st[k] >= 0 && en[k] >= END) {
        before[a] = st[k];
      } else {
        throw new ShapeError(
          `Slice gradient: expected a static dim ${a} for start ${st[k]}, end ${en[k]}, got ${formatShape(x.shape)}`,
        );
      }
    });
    return [pad(dy, before, after, x.shape), null, null, null, null];
  },
};

/**
 * x[starts:ends] along `axes` (numpy slicing, constants only). On a symbolic dim the slice
 * must run to the end (end = END) or stop before it (0 <= start <= end); the latter assumes
 * the dim is at least `end` long. `shape`, when given, is the known result (gradient rules
 * use it to keep dim names).
 */
export function slice(
  x: Value,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
  shape?: Shape,
): Value {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normalizeAxis("Slice", a, x.rank, x.shape));
  const st = steps ?? ax.map(() => 1);
  const out: Dim[] = [...x.shape];
  if (shape) out.splice(0, out.length, ...shape);
  else ax.forEach((a, k) => (out[a] = slicedDim(x.shape, a, starts[k], ends[k], st[k])));
  const g = x.graph;
  const inputs = [x, int64s(g, starts), int64s(g, ends), int64s(g, ax), int64s(g, st)];
  return g.apply(Slice, inputs, [{ dtype: x.dtype, shape: out }])[0];
}

function slicedDim(shape: Shape, axis: number, start: number, end: number, step: number): Dim {
  const dim = shape[axis];
  if (step === 0) throw new ShapeError(`Slice: expected a non-zero step, got 0 on axis ${axis}`);
  if (typeof dim === "number") {
    const clamp = (i: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, i < 0 ? i + dim : i));
    if (step > 0) {
      const s = clamp(start, 0, dim);
      const e = clamp(end, 0, dim);
      return Math.max(0, Math.ceil((e - s) / step));
    }
    const s = clamp(start, -1, dim - 1);
    const e = clamp(end, -1, dim - 1);
    return Math.max(0, Math.ceil((s - e) / -step));
  }
  if (step === 1 && start === 0 && end >= END) return dim;
  if (step === 1 && start >= 0 && end >= END) return `${dim}-${start}`;
  if (step === 1 && start >= 0 && end >= start) return end - start;
  throw new ShapeError(
    `Slice: expected a static dim ${axis} for start ${start}, end ${end}, step ${step}, got ${formatShape(shape)}`,
  );
}
