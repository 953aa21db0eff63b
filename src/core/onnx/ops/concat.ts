import { ShapeError } from "../../errors.ts";
import { type Primitive, type Value, assertSameDType } from "../graph.ts";
import { type Dim, formatShape, normalizeAxis } from "../shape.ts";
import { slice } from "./slice.ts";

// dx_i = the slice of dy that input i filled (needs static sizes along the axis).
export const Concat: Primitive = {
  opType: "Concat",
  backward: ({ node, inputs, dys: [dy], wants }) => {
    if (!dy) return inputs.map(() => null);
    const axis = (node.attrs.axis as { int: number }).int;
    let offset = 0;
    return inputs.map((x, i) => {
      const size = x.shape[axis];
      if (typeof size !== "number") {
        throw new ShapeError(`Concat gradient: expected static sizes along axis ${axis}, got ${formatShape(x.shape)}`);
      }
      const dx = wants[i] ? slice(dy, [offset], [offset + size], [axis]) : null;
      offset += size;
      return dx;
    });
  },
};

export function concat(values: readonly Value[], axis: number): Value {
  const first = values[0];
  if (!first) throw new ShapeError("Concat: expected at least one value, got none");
  const ax = normalizeAxis("Concat", axis, first.rank, first.shape);
  for (const v of values) {
    assertSameDType("Concat", first, v);
    if (v.rank !== first.rank || v.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(
        `Concat: expected shapes equal except on axis ${ax}, got ${values.map((w) => formatShape(w.shape)).join(" and ")}`,
      );
    }
  }
  const sizes = values.map((v) => v.shape[ax]);
  const total: Dim = sizes.every((d) => typeof d === "number")
    ? (sizes as number[]).reduce((p, d) => p + d, 0)
    : sizes.join("+");
  const shape = first.shape.map((d, i) => (i === ax ? total : d));
  return first.graph.apply(Concat, values, [{ dtype: first.dtype, shape }], { axis: { int: ax } })[0];
}
