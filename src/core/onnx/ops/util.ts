// Helpers shared by the op files: operand lifting (a plain number becomes a constant of
// the other operand's dtype) and the two common node shapes, elementwise and unary.

import { ShapeError } from "../../errors.ts";
import { type Attrs, type DType, type Primitive, type Value, assertSameDType } from "../graph.ts";
import { type Shape, broadcastShapes, normalizeAxis } from "../shape.ts";

export type Operand = Value | number;

export function lift(op: string, a: Operand, b: Operand): [Value, Value] {
  if (typeof a === "number" && typeof b === "number") {
    throw new ShapeError(`${op}: expected at least one Value operand, got two numbers`);
  }
  const av = typeof a === "number" ? (b as Value).graph.constant(a, (b as Value).dtype) : a;
  const bv = typeof b === "number" ? av.graph.constant(b, av.dtype) : b;
  return [av, bv];
}

/** A broadcasting binary node; the output dtype is the operands' unless given. */
export function binary(op: Primitive, a: Operand, b: Operand, outDType?: DType): Value {
  const [x, y] = lift(op.opType, a, b);
  assertSameDType(op.opType, x, y);
  const shape = broadcastShapes(op.opType, x.shape, y.shape);
  return x.graph.apply(op, [x, y], [{ dtype: outDType ?? x.dtype, shape }])[0];
}

export function unary(op: Primitive, x: Value, attrs: Attrs = {}, shape: Shape = x.shape): Value {
  return x.graph.apply(op, [x], [{ dtype: x.dtype, shape }], attrs)[0];
}

/** A scalar constant of x's dtype. */
export function scalarLike(x: Value, value: number): Value {
  return x.graph.constant(value, x.dtype);
}

/** A 1-D int64 constant (axes, shapes, starts, ...). */
export function int64s(g: Value["graph"], values: readonly number[]): Value {
  return g.constant(values, "int64", [values.length]);
}

/** Normalized, sorted, unique axes; all axes when none are given. */
export function normalizeAxes(op: string, axes: readonly number[] | undefined, x: Value): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const out = [...new Set(axes.map((a) => normalizeAxis(op, a, x.rank, x.shape)))].sort((p, q) => p - q);
  return out;
}

/** The shape left after reducing `axes` (kept as 1 or dropped). */
export function reducedShape(x: Value, axes: readonly number[], keepdims: boolean): Shape {
  const out: Shape[number][] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** The numbers of a constant made by int64s() or Graph.constant (for gradient rules). */
export function constantNumbers(v: Value): number[] {
  const stored = v.graph.dataOf(v);
  if (!stored) throw new ShapeError(`expected ${v.name} to be a constant, got a computed value`);
  return Array.from(stored.data as ArrayLike<number | bigint>, Number);
}
