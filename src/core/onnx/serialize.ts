// Graph -> ONNX ModelProto bytes. Deterministic: the same graph gives the same bytes
// (nodes in creation order, names from the builder, protobufjs writes fields in order).
// Only the nodes and initializers that the outputs need are written, so gradient rules
// may leave unused helpers behind. Initializers are raw_data, little-endian.

// onnx-proto is CommonJS; its default export is the one form every loader (Vite, vitest,
// tsx, Node's ESM) agrees on.
import onnxProto, { type onnx as proto } from "onnx-proto";
import { ShapeError } from "../errors.ts";
import type { AttrValue, DType, Graph, Node, TensorData, Value } from "./graph.ts";

const { onnx } = onnxProto;

/** Opset 18: LayerNormalization (17+), and ReduceMean/ReduceMax/ReduceProd axes as inputs (18+). */
export const OPSET = 18;
/** IR version 8 (ONNX 1.12/1.13) is what opset 18 needs; onnxruntime-web 1.31 reads it. */
export const IR_VERSION = 8;

export interface SerializeOptions {
  opset?: number;
  producerName?: string;
  producerVersion?: string;
}

const DATA_TYPE: Record<DType, proto.TensorProto.DataType> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  float16: onnx.TensorProto.DataType.FLOAT16,
};

export function toModelProto(graph: Graph, opts: SerializeOptions = {}): Uint8Array {
  const opset = opts.opset ?? OPSET;
  if (opset < OPSET) throw new ShapeError(`serialize: expected opset ${OPSET} or later, got ${opset}`);
  if (graph.outputs.length === 0) throw new ShapeError(`serialize: expected graph ${graph.name} to have outputs, got none`);
  const nodes = liveNodes(graph);
  const used = new Set<Value>(graph.outputs);
  for (const n of nodes) for (const v of n.inputs) used.add(v);

  const model: proto.IModelProto = {
    irVersion: IR_VERSION,
    producerName: opts.producerName ?? "clinical-adapt",
    producerVersion: opts.producerVersion ?? "",
    opsetImport: [{ domain: "", version: opset }],
    graph: {
      name: graph.name,
      node: nodes.map(nodeProto),
      initializer: graph.initializers.filter((i) => used.has(i.value)).map((i) => tensorProto(i.data, i.value.name)),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}

/** The nodes the outputs are computed from, in creation (topological) order. */
function liveNodes(graph: Graph): Node[] {
  const live = new Set<Node>();
  const stack = [...graph.outputs];
  while (stack.length) {
    const node = stack.pop()!.producer;
    if (!node || live.has(node)) continue;
    live.add(node);
    stack.push(...node.inputs);
  }
  return graph.nodes.filter((n) => live.has(n));
}

function nodeProto(node: Node): proto.INodeProto {
  return {
    name: node.name,
    opType: node.op.opType,
    domain: node.op.domain ?? "",
    input: node.inputs.map((v) => v.name),
    output: node.outputs.map((v) => v.name),
    attribute: Object.keys(node.attrs)
      .sort()
      .map((name) => attributeProto(name, node.attrs[name])),
  };
}

function attributeProto(name: string, a: AttrValue): proto.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in a) return { name, type: T.INT, i: a.int };
  if ("float" in a) return { name, type: T.FLOAT, f: a.float };
  if ("string" in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
  if ("ints" in a) return { name, type: T.INTS, ints: a.ints };
  if ("floats" in a) return { name, type: T.FLOATS, floats: a.floats };
  return { name, type: T.TENSOR, t: tensorProto(a.tensor, "") };
}

export function tensorProto(t: TensorData, name: string): proto.ITensorProto {
  return { name, dims: t.dims, dataType: DATA_TYPE[t.dtype], rawData: littleEndianBytes(t) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(t: TensorData): Uint8Array {
  const a = t.data;
  if (LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) view.setFloat32(i * 4, a[i], true);
    else if (a instanceof Float64Array) view.setFloat64(i * 8, a[i], true);
    else if (a instanceof BigInt64Array) view.setBigInt64(i * 8, a[i], true);
    else if (a instanceof Int32Array) view.setInt32(i * 4, a[i], true);
    else if (a instanceof Uint16Array) view.setUint16(i * 2, a[i], true);
  }
  return out;
}

function valueInfo(v: Value): proto.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
