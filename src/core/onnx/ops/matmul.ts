import { ShapeError } from "../../errors.ts";
import { type Primitive, type Value, assertSameDType } from "../graph.ts";
import { broadcastShapes, dimProduct, formatShape } from "../shape.ts";
import { reshape } from "./reshape.ts";
import { transposeLast2 } from "./transpose.ts";

// y = a @ b over the last two axes, batch axes broadcast.
//   da = dy @ b^T, db = a^T @ dy (the walk sums broadcast batch axes away).
// When b is a plain matrix (a linear layer's weight), db is one 2-D matmul over all rows
// instead of a batched matmul followed by a sum.
export const MatMul: Primitive = {
  opType: "MatMul",
  backward: ({ inputs: [a, b], dys: [dy], wants }) => {
    if (!dy) return [null, null];
    const da = wants[0] ? matmul(dy, transposeLast2(b)) : null;
    let db: Value | null = null;
    if (wants[1] && b.rank === 2 && a.rank > 2) {
      const rows = dimProduct(a.shape.slice(0, -1));
      const a2 = reshape(a, [rows, a.shape[a.rank - 1]]); // (R, K)
      const dy2 = reshape(dy, [rows, dy.shape[dy.rank - 1]]); // (R, N)
      db = matmul(transposeLast2(a2), dy2); // (K, N)
    } else if (wants[1]) {
      db = matmul(transposeLast2(a), dy);
    }
    return [da, db];
  },
};

/** a (..., M, K) @ b (..., K, N) -> (..., M, N); both of rank 2 or more. */
export function matmul(a: Value, b: Value): Value {
  assertSameDType("MatMul", a, b);
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(
      `MatMul: expected operands of rank 2 or more (unsqueeze vectors), got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  const k = a.shape[a.rank - 1];
  const kb = b.shape[b.rank - 2];
  if (k !== kb) {
    throw new ShapeError(
      `MatMul: expected b with ${k} rows (a's last dim), got a of shape ${formatShape(a.shape)} and b of shape ${formatShape(b.shape)}`,
    );
  }
  const batch = broadcastShapes("MatMul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]];
  return a.graph.apply(MatMul, [a, b], [{ dtype: a.dtype, shape }])[0];
}
