// The graph builder. A Graph holds inputs, initializers (constant tensors such as frozen
// weights), nodes and outputs. Ops (./ops/*) are functions that take Values and return
// Values; each appends one ONNX node whose op carries its gradient rule. Every Value has
// a dtype and a shape known while the graph is built; names are unique and deterministic
// (the same build calls give the same names, so the same bytes).

import { ShapeError } from "../errors.ts";
import { type Shape, formatShape, numel } from "./shape.ts";

export type { Dim, Shape } from "./shape.ts";

export type DType = "float32" | "float64" | "int64" | "int32" | "bool" | "float16";

export const FLOAT_DTYPES: readonly DType[] = ["float32", "float64", "float16"];

export function isFloat(dtype: DType): boolean {
  return FLOAT_DTYPES.includes(dtype);
}

/** float16 travels as its raw bits (Uint16Array), bool as one byte per element. */
export type TensorArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TensorArray;
}

/** Builds a TensorData, converting plain numbers to the dtype's typed array. */
export function tensor(dtype: DType, dims: number[], values: ArrayLike<number> | TensorArray): TensorData {
  const n = numel(dims);
  if (values.length !== n) {
    throw new ShapeError(`tensor: expected ${n} values for shape ${formatShape(dims)}, got ${values.length}`);
  }
  if (!(values instanceof Array) && !ArrayBuffer.isView(values)) values = Array.from(values);
  const data = toTypedArray(dtype, values as ArrayLike<number> | TensorArray);
  return { dtype, dims: [...dims], data };
}

function toTypedArray(dtype: DType, values: ArrayLike<number> | TensorArray): TensorArray {
  switch (dtype) {
    case "float32":
      return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
    case "float64":
      return values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
    case "int32":
      return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
    case "int64":
      return values instanceof BigInt64Array
        ? values
        : BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(Math.trunc(v))));
    case "bool":
      return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
    case "float16":
      if (values instanceof Uint16Array) return values;
      throw new ShapeError("tensor: float16 values must be given as their bits in a Uint16Array");
  }
}

export type AttrValue =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: number[] }
  | { floats: number[] }
  | { tensor: TensorData };

export type Attrs = Record<string, AttrValue>;

/** What a gradient rule sees: the forward node and the gradients of its outputs. */
export interface GradContext {
  node: Node;
  inputs: readonly Value[];
  outputs: readonly Value[];
  /** dL/d(output i), or null where no gradient reaches that output. */
  dys: readonly (Value | null)[];
  /** wants[i]: the walk needs dL/d(input i); a rule may skip the others. */
  wants: readonly boolean[];
}

/**
 * A gradient rule returns one entry per input: dL/d(input), in the input's shape or in a
 * shape the input broadcasts to (the walk sums broadcast axes away), or null for none.
 */
export type GradRule = (ctx: GradContext) => (Value | null)[];

export interface Primitive {
  /** The ONNX op type this primitive emits. */
  opType: string;
  domain?: string;
  /** null: no gradient flows through this op (Shape, Equal, RandomUniformLike, ...). */
  backward: GradRule | null;
}

export type ValueKind = "input" | "initializer" | "node";

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: ValueKind,
    /** The node that computes this value; undefined for inputs and initializers. */
    readonly producer?: Node,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node {
  readonly index: number;
  readonly name: string;
  readonly op: Primitive;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

export class Graph {
  readonly inputs: Value[] = [];
  readonly initializers: { value: Value; data: TensorData }[] = [];
  readonly nodes: Node[] = [];
  readonly outputs: Value[] = [];
  private readonly names = new Set<string>();
  private readonly initializerData = new Map<Value, TensorData>();
  private readonly constants = new Map<string, Value>();
  private counter = 0;
  private prefix = "";

  constructor(readonly name = "graph") {}

  /** A graph input fed at run time. Symbolic dims are strings ("B", "T"). */
  input(name: string, dtype: DType, shape: Shape): Value {
    this.claim(name);
    const v = new Value(this, name, dtype, [...shape], "input");
    this.inputs.push(v);
    return v;
  }

  /** A constant tensor stored in the model (frozen weights, lookup tables). */
  initializer(name: string, data: TensorData): Value {
    this.claim(name);
    return this.addInitializer(name, data);
  }

  private addInitializer(name: string, data: TensorData): Value {
    const expected = numel(data.dims);
    if (data.data.length !== expected) {
      throw new ShapeError(
        `initializer ${name}: expected ${expected} values for shape ${formatShape(data.dims)}, got ${data.data.length}`,
      );
    }
    const v = new Value(this, name, data.dtype, [...data.dims], "initializer");
    this.initializers.push({ value: v, data });
    this.initializerData.set(v, data);
    return v;
  }

  /** The stored tensor of an initializer or constant; undefined for any other value. */
  dataOf(v: Value): TensorData | undefined {
    return this.initializerData.get(v);
  }

  /**
   * A small constant (a scalar by default). Equal small constants are shared, so building
   * `mul(x, 0.5)` twice stores 0.5 once.
   */
  constant(values: number | readonly number[], dtype: DType, dims?: number[]): Value {
    const list = typeof values === "number" ? [values] : [...values];
    const shape = dims ?? (typeof values === "number" ? [] : [list.length]);
    const key = `${dtype}|${shape.join(",")}|${list.join(",")}`;
    const cached = list.length <= 64 ? this.constants.get(key) : undefined;
    if (cached) return cached;
    const v = this.addInitializer(this.fresh("const"), tensor(dtype, shape, list));
    if (list.length <= 64) this.constants.set(key, v);
    return v;
  }

  /** Appends one node of a primitive op; returns its output Values. */
  apply(op: Primitive, inputs: readonly Value[], outputs: readonly OutputSpec[], attrs: Attrs = {}): Value[] {
    for (const v of inputs) {
      if (v.graph !== this) throw new ShapeError(`${op.opType}: input ${v.name} belongs to another graph`);
    }
    const index = this.nodes.length;
    const base = op.opType.toLowerCase();
    const outs: Value[] = [];
    const node: Node = { index, name: this.fresh(`n_${base}`), op, inputs: [...inputs], outputs: outs, attrs };
    for (const spec of outputs) {
      outs.push(new Value(this, this.fresh(base), spec.dtype, [...spec.shape], "node", node));
    }
    this.nodes.push(node);
    return outs;
  }

  /**
   * Marks a value as a graph output under `name` (an Identity node renames it when the
   * value already has another name, or is an input or initializer).
   */
  output(value: Value, name?: string): Value {
    let out = value;
    if ((name !== undefined && name !== value.name) || value.kind !== "node" || this.outputs.includes(value)) {
      const outName = name ?? this.fresh(value.name);
      this.claim(outName);
      const node: Node = {
        index: this.nodes.length,
        name: this.fresh("n_output"),
        op: IdentityOutput,
        inputs: [value],
        outputs: [],
        attrs: {},
      };
      out = new Value(this, outName, value.dtype, value.shape, "node", node);
      (node.outputs as Value[]).push(out);
      this.nodes.push(node);
    }
    this.outputs.push(out);
    return out;
  }

  /** Runs `build` with `prefix/` in front of every generated name (for readable graphs). */
  scope<T>(prefix: string, build: () => T): T {
    const saved = this.prefix;
    this.prefix = `${saved}${prefix}/`;
    try {
      return build();
    } finally {
      this.prefix = saved;
    }
  }

  /** A new unique name with a counter; deterministic for the same build calls. */
  fresh(base: string): string {
    let name: string;
    do name = `${this.prefix}${base}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new ShapeError(`graph ${this.name}: the name "${name}" is already taken`);
    this.names.add(name);
  }
}

// Graph.output's renaming node: an Identity whose gradient passes straight through.
const IdentityOutput: Primitive = {
  opType: "Identity",
  backward: ({ dys }) => [dys[0]],
};

export function assertDType(op: string, what: string, v: Value, allowed: readonly DType[]): void {
  if (!allowed.includes(v.dtype)) {
    throw new ShapeError(`${op}: expected ${what} of dtype ${allowed.join(" or ")}, got ${v.dtype} (${v.name})`);
  }
}

export function assertSameDType(op: string, a: Value, b: Value): void {
  if (a.dtype !== b.dtype) {
    throw new ShapeError(`${op}: expected both operands of one dtype, got ${a.dtype} (${a.name}) and ${b.dtype} (${b.name})`);
  }
}
