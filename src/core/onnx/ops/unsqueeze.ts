import type { Primitive, Value } from "../graph.ts";
import { type Dim, normalizeAxis } from "../shape.ts";
import { squeeze } from "./squeeze.ts";
import { constantNumbers, int64s } from "./util.ts";

export const Unsqueeze: Primitive = {
  opType: "Unsqueeze",
  backward: ({ inputs: [, axes], dys: [dy] }) => [dy ? squeeze(dy, constantNumbers(axes)) : null, null],
};

/** Inserts dims of size 1 at `axes` (positions in the output). */
export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const rank = x.rank + axes.length;
  const ax = [...new Set(axes.map((a) => normalizeAxis("Unsqueeze", a, rank, x.shape)))].sort((p, q) => p - q);
  const shape: Dim[] = [];
  let from = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[from++]);
  return x.graph.apply(Unsqueeze, [x, int64s(x.graph, ax)], [{ dtype: x.dtype, shape }])[0];
}
