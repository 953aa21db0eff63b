import { ShapeError } from "../../errors.ts";
import type { Primitive, Value } from "../graph.ts";
import { formatShape } from "../shape.ts";

// dx = dy transposed by the inverse permutation.
export const Transpose: Primitive = {
  opType: "Transpose",
  backward: ({ node, dys: [dy] }) => {
    if (!dy) return [null];
    const perm = (node.attrs.perm as { ints: number[] }).ints;
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [transpose(dy, inverse)];
  },
};

export function transpose(x: Value, perm: readonly number[]): Value {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new ShapeError(`Transpose: expected a permutation of ${x.rank} axes, got [${perm.join(", ")}] for ${formatShape(x.shape)}`);
  }
  const shape = perm.map((p) => x.shape[p]);
  return x.graph.apply(Transpose, [x], [{ dtype: x.dtype, shape }], { perm: { ints: [...perm] } })[0];
}

/** Swaps the last two axes: (..., M, N) -> (..., N, M). */
export function transposeLast2(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}
