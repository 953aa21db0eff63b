// Static shapes with symbolic dims. A dim is a number or a name ("B", "T", "B*T"); two
// symbolic dims are equal only when their names are equal, so the builder never guesses
// that "B" and 8 agree. Errors name the op, the expected and the actual shape.

import { ShapeError } from "../errors.ts";

export type Dim = number | string;
export type Shape = readonly Dim[];

export function formatShape(shape: Shape): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}

export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => sameDim(d, b[i]));
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === "number");
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** numpy broadcasting; a symbolic dim broadcasts with 1 and with itself only. */
export function broadcastShapes(op: string, ...shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1 || sameDim(d, dim)) continue;
      if (dim === 1) {
        dim = d;
        continue;
      }
      throw new ShapeError(
        `${op}: expected shapes that broadcast, got ${shapes.map(formatShape).join(" and ")} ` +
          `(dim ${i - rank} is ${dim} in one and ${d} in another)`,
      );
    }
    out.push(dim);
  }
  return out;
}

/** Maps a possibly negative axis into [0, rank). */
export function normalizeAxis(op: string, axis: number, rank: number, shape?: Shape): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new ShapeError(
      `${op}: expected an axis in [${-rank}, ${rank}), got ${axis}` +
        (shape ? ` for a value of shape ${formatShape(shape)}` : ""),
    );
  }
  return a;
}

// A product of dims as a number times a sorted list of symbol names.
interface Factors {
  n: number;
  names: string[];
}

function factorsOf(dims: Shape): Factors {
  const f: Factors = { n: 1, names: [] };
  for (const d of dims) {
    for (const part of String(d).split("*")) {
      if (/^\d+$/.test(part)) f.n *= Number(part);
      else f.names.push(part);
    }
  }
  f.names.sort();
  return f;
}

function dimOf(f: Factors): Dim {
  if (f.names.length === 0) return f.n;
  return [...(f.n === 1 ? [] : [String(f.n)]), ...f.names].join("*");
}

/**
 * The product of some dims as one dim: a number when all are static, else a name such as
 * "B*T" (factors sorted, so the same product always gets the same name).
 */
export function dimProduct(dims: Shape): Dim {
  return dimOf(factorsOf(dims));
}

/** product(total) / product(known) symbolically; undefined when it does not divide. */
export function dimQuotient(total: Shape, known: Shape): Dim | undefined {
  const t = factorsOf(total);
  const k = factorsOf(known);
  if (k.n === 0 || t.n % k.n !== 0) return undefined;
  const names = [...t.names];
  for (const name of k.names) {
    const at = names.indexOf(name);
    if (at < 0) return undefined;
    names.splice(at, 1);
  }
  return dimOf({ n: t.n / k.n, names });
}
