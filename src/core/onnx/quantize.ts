// int8 quantization of an ONNX model, for the smaller download. It works on the ModelProto
// bytes (not on a Graph), so it serves any float32 model: ours from buildInferenceModel, or
// a graph someone uploaded. What changes, and nothing else:
//
// - MatMul and Gemm weights (a 2-D float32 initializer as input B, directly or through a
//   Transpose perm=[1,0], which is how our graphs keep PyTorch's (out, in) layout) are
//   stored as int8 (K, N) with one scale per output column, and the product is computed by
//   dynamic quantization, as Optimum's quantize_dynamic writes it:
//     A -> DynamicQuantizeLinear -> (A_q uint8, a_scale, a_zero) ; MatMulInteger(A_q, W_q)
//       -> Cast float -> Mul (a_scale * w_scale)   [+ Add C for a Gemm]
//   The product itself is integer (MatMulInteger), so onnxruntime runs it on int8 kernels.
// - Embedding tables (a 2-D float32 initializer as Gather's data, axis 0) become int8 with
//   one scale per row: the rows are gathered as int8, then cast and scaled. Gathering first
//   keeps the cost to the looked-up rows (dequantizing the whole table would build the
//   float table on every run: 94 MB for a BERT-base vocabulary).
// Weight scales are symmetric (zero point 0, range ±127): max |w| / 127 per column or row.
//
// Why dynamic and not weight-only QDQ (int8 weights -> DequantizeLinear -> float MatMul):
// both make the same file size, but dynamic is the faster one in onnxruntime-web 1.31.
// `npm run bench -- quantize` (wasm in Node, one thread, medians on a loaded 2-core machine):
//   batch 16 × 128 tokens   demo model: fp32 132 ms, dynamic 63, QDQ 118
//                           random BERT 4 layers × 384: fp32 2084 ms, dynamic 845, QDQ 1983
//   one 64-token sequence   demo: fp32 5 ms, dynamic 4, QDQ 8; BERT 4 × 384: 45, 24, 79
// (QDQ dequantizes its weights on every run). The price: activations are rounded too, per
// tensor and per run, so a token's logits depend a little on the rest of its batch, padding
// included. Largest |logit| change from fp32 on the demo model: 0.06 dynamic, 0.05 QDQ.

import onnxProto, { type onnx as proto } from "onnx-proto";
import { ModelFormatError } from "../errors.ts";

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const INT = onnx.AttributeProto.AttributeType.INT;

/** DynamicQuantizeLinear needs opset 11, MatMulInteger 10, Gather of int8 13. */
const MIN_OPSET = 13;

/**
 * A weight whose scales would each cover fewer values stays float32: its 4-byte scales and
 * zero points would eat the saving (an (N, 1) table, such as the row scales this file writes,
 * would even grow).
 */
const MIN_VALUES_PER_SCALE = 16;

export interface QuantizeOptions {
  /** Also quantize Gather tables (embeddings); default true. */
  embeddings?: boolean;
  /**
   * Weights with fewer elements stay float32 (default 4096): they save next to nothing (the
   * demo model's 5 × 128 classifier is one).
   */
  minElements?: number;
}

export interface QuantizedWeight {
  name: string;
  /** The op that consumes it. */
  op: "MatMul" | "Gemm" | "Gather";
  /** Its dims in the float model. */
  dims: number[];
  /** Bytes of the float32 tensor, and of the int8 tensor with its scales and zero points. */
  bytesBefore: number;
  bytesAfter: number;
}

export interface QuantizeResult {
  bytes: Uint8Array;
  weights: QuantizedWeight[];
}

interface Use {
  node: proto.INodeProto;
  input: number;
}

/** How one use of a weight reads it: `transposed` when the op sees it as (N, K) and multiplies by its transpose. */
interface WeightUse {
  op: QuantizedWeight["op"];
  node: proto.INodeProto;
  transposed: boolean;
  /** The Transpose node in between, dropped with the float weight. */
  via?: proto.INodeProto;
}

/** The int8 model of `model` (an ONNX ModelProto); `file` names it in errors. */
export function quantizeInt8(model: Uint8Array, file = "onnx/model.onnx", options: QuantizeOptions = {}): QuantizeResult {
  const proto = decodeModel(model, file);
  const graph = proto.graph;
  if (!graph) throw new ModelFormatError(file, "is an ONNX model without a graph; there is nothing to quantize.");
  const opset = (proto.opsetImport ?? []).find((o) => !o.domain)?.version;
  if (opset === undefined || opset === null || toNumber(opset) < MIN_OPSET) {
    throw new ModelFormatError(file, `uses ONNX opset ${opset ?? "(none)"}; int8 quantization needs opset ${MIN_OPSET} or later.`);
  }
  const nodes = graph.node ?? [];
  const uses = usesByName(graph);
  const fresh = freshNames(graph);
  const minElements = options.minElements ?? 4096;
  const weights: QuantizedWeight[] = [];
  const initializers: proto.ITensorProto[] = [];
  const replaced = new Map<proto.INodeProto, proto.INodeProto[]>();
  for (const init of graph.initializer ?? []) {
    const dims = (init.dims ?? []).map(toNumber);
    const weightUses = init.dataType === DataType.FLOAT && dims.length === 2 && dims[0] * dims[1] >= minElements ? weightUsesOf(init.name ?? "", uses, options.embeddings ?? true) : null;
    if (!weightUses || valuesPerScale(weightUses[0], dims) < MIN_VALUES_PER_SCALE) {
      initializers.push(init);
      continue;
    }
    const name = init.name!;
    const w = floatData(init, file);
    const op = weightUses[0].op;
    if (op === "Gather") {
      const q = quantizeInt8Rows(w, dims, 0);
      const quantized = int8Tensor(fresh(`${name}_quantized`), dims, q.values);
      const scale = floatTensor(fresh(`${name}_scale`), [dims[0], 1], q.scales);
      initializers.push(quantized, scale);
      for (const use of weightUses) replaced.set(use.node, gatherRows(use.node, quantized.name, scale.name, fresh));
    } else {
      // Every use reads the weight the same way (weightUsesOf checks), as (K, N) after any transpose.
      const kn = weightUses[0].transposed ? transpose(w, dims) : w;
      const [K, N] = weightUses[0].transposed ? [dims[1], dims[0]] : dims;
      const q = quantizeInt8Rows(kn, [K, N], 1);
      const quantized = int8Tensor(fresh(`${name}_quantized`), [K, N], q.values);
      const scale = floatTensor(fresh(`${name}_scale`), [N], q.scales);
      const zeroPoint = int8Tensor(fresh(`${name}_zero_point`), [N], new Int8Array(N));
      initializers.push(quantized, scale, zeroPoint);
      for (const use of weightUses) {
        replaced.set(use.node, integerMatMul(use, { quantized: quantized.name, scale: scale.name, zeroPoint: zeroPoint.name }, fresh));
        if (use.via) replaced.set(use.via, []);
      }
    }
    const channels = op === "Gather" ? dims[0] : weightUses[0].transposed ? dims[0] : dims[1];
    weights.push({ name, op, dims, bytesBefore: 4 * w.length, bytesAfter: w.length + (op === "Gather" ? 4 : 5) * channels });
  }
  if (weights.length === 0) {
    throw new ModelFormatError(file, `has no float32 MatMul, Gemm or Gather weight of ${minElements} or more elements to quantize.`);
  }
  // Each replacement takes its node's place, so the graph stays in topological order.
  graph.node = nodes.flatMap((n) => replaced.get(n) ?? [n]);
  graph.initializer = initializers;
  return { bytes: onnx.ModelProto.encode(proto).finish(), weights };
}

function decodeModel(bytes: Uint8Array, file: string): proto.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ModelFormatError(file, `is not an ONNX model (${error instanceof Error ? error.message : String(error)}).`);
  }
}

/** Who reads each value; a graph output counts as a reader that is no weight use. */
function usesByName(graph: proto.IGraphProto): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  const add = (name: string, use: Use) => {
    if (!uses.has(name)) uses.set(name, []);
    uses.get(name)!.push(use);
  };
  for (const node of graph.node ?? []) (node.input ?? []).forEach((name, input) => add(name, { node, input }));
  for (const output of graph.output ?? []) add(output.name ?? "", { node: { opType: "(graph output)" }, input: 0 });
  return uses;
}

/** New value and node names that clash with none in the graph. */
function freshNames(graph: proto.IGraphProto): (base: string) => string {
  const names = new Set<string>();
  for (const n of graph.node ?? []) for (const name of [n.name ?? "", ...(n.input ?? []), ...(n.output ?? [])]) names.add(name);
  for (const t of graph.initializer ?? []) names.add(t.name ?? "");
  for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) names.add(v.name ?? "");
  return (base) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
}

/**
 * The uses of an initializer when every one of them reads it as a weight of one kind, the
 * same way; null otherwise (so no other op ever sees rounded values).
 */
function weightUsesOf(name: string, uses: Map<string, Use[]>, embeddings: boolean): WeightUse[] | null {
  const used = uses.get(name) ?? [];
  const list = used.map((use) => weightUse(use, uses, embeddings));
  if (list.length === 0 || list.some((u) => u === null)) return null;
  const all = list.flat() as WeightUse[];
  const same = all.every((u) => (u.op === "Gather") === (all[0].op === "Gather") && u.transposed === all[0].transposed);
  return same ? all : null;
}

function weightUse({ node, input }: Use, uses: Map<string, Use[]>, embeddings: boolean): WeightUse[] | null {
  const int = (name: string, fallback: number) => toNumber(attribute(node, name)?.i ?? fallback);
  switch (node.opType) {
    case "MatMul":
      return input === 1 ? [{ op: "MatMul", node, transposed: false }] : null;
    case "Gemm": {
      // Only Gemm(A, B, C) = A B + C: other alphas, betas or transA would need their own rewrite.
      const plain = input === 1 && int("transA", 0) === 0 && (attribute(node, "alpha")?.f ?? 1) === 1 && (attribute(node, "beta")?.f ?? 1) === 1;
      return plain ? [{ op: "Gemm", node, transposed: int("transB", 0) === 1 }] : null;
    }
    case "Gather":
      return embeddings && input === 0 && int("axis", 0) === 0 ? [{ op: "Gather", node, transposed: false }] : null;
    case "Transpose": {
      // W (N, K) -> Transpose -> MatMul's B (K, N).
      const perm = (attribute(node, "perm")?.ints ?? []).map(toNumber);
      const consumers = uses.get(node.output?.[0] ?? "") ?? [];
      const feedsMatMuls = consumers.length > 0 && consumers.every((c) => c.node.opType === "MatMul" && c.input === 1);
      if (perm.length !== 2 || perm[0] !== 1 || perm[1] !== 0 || !feedsMatMuls) return null;
      return consumers.map((c) => ({ op: "MatMul", node: c.node, transposed: true, via: node }));
    }
    default:
      return null;
  }
}

/** How many weights share one scale: a table's row, or a (K, N) weight's column of K. */
function valuesPerScale(use: WeightUse, dims: number[]): number {
  return use.op === "Gather" || use.transposed ? dims[1] : dims[0];
}

function attribute(node: proto.INodeProto, name: string): proto.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** MatMul(A, W) or Gemm(A, W, C) with W int8 (K, N): dynamic quantization of A, an integer product, rescaled. */
function integerMatMul(use: WeightUse, w: { quantized: string; scale: string; zeroPoint: string }, fresh: (base: string) => string): proto.INodeProto[] {
  const { node } = use;
  const a = node.input![0];
  const out = node.output![0];
  const base = node.name || out;
  const [aq, aScale, aZero] = [fresh(`${out}_a_quantized`), fresh(`${out}_a_scale`), fresh(`${out}_a_zero_point`)];
  const [product, floats, scale] = [fresh(`${out}_int32`), fresh(`${out}_unscaled`), fresh(`${out}_scale`)];
  const bias = use.op === "Gemm" ? node.input![2] : undefined;
  const scaled = bias ? fresh(`${out}_without_bias`) : out;
  return [
    { name: fresh(`${base}_quantize_a`), opType: "DynamicQuantizeLinear", input: [a], output: [aq, aScale, aZero] },
    { name: fresh(`${base}_integer`), opType: "MatMulInteger", input: [aq, w.quantized, aZero, w.zeroPoint], output: [product] },
    { name: fresh(`${base}_cast`), opType: "Cast", input: [product], output: [floats], attribute: [{ name: "to", type: INT, i: DataType.FLOAT }] },
    { name: fresh(`${base}_scales`), opType: "Mul", input: [aScale, w.scale], output: [scale] },
    { name: fresh(`${base}_rescale`), opType: "Mul", input: [floats, scale], output: [scaled] },
    ...(bias ? [{ name: fresh(`${base}_bias`), opType: "Add", input: [scaled, bias], output: [out] }] : []),
  ];
}

/**
 * Gather(table, ids) -> Gather(int8 table, ids), Gather(scales, ids), Cast, Mul: the same
 * output name, so the nodes after it are untouched.
 */
function gatherRows(node: proto.INodeProto, quantized: string, scale: string, fresh: (base: string) => string): proto.INodeProto[] {
  const ids = node.input![1];
  const out = node.output![0];
  const [rows, rowScales, floats] = [fresh(`${out}_int8_rows`), fresh(`${out}_row_scales`), fresh(`${out}_float_rows`)];
  const base = node.name || out;
  return [
    { name: fresh(`${base}_int8`), opType: "Gather", input: [quantized, ids], output: [rows], attribute: node.attribute },
    { name: fresh(`${base}_scales`), opType: "Gather", input: [scale, ids], output: [rowScales], attribute: node.attribute },
    { name: fresh(`${base}_cast`), opType: "Cast", input: [rows], output: [floats], attribute: [{ name: "to", type: INT, i: DataType.FLOAT }] },
    { name: fresh(`${base}_dequantize`), opType: "Mul", input: [floats, rowScales], output: [out] },
  ];
}

/** Symmetric int8 with one scale per index of `axis` (0: rows, 1: columns) of a 2-D tensor: w ≈ values * scale. */
export function quantizeInt8Rows(w: Float32Array, dims: number[], axis: 0 | 1): { values: Int8Array; scales: Float32Array } {
  const [rows, cols] = dims;
  const channel = (r: number, c: number) => (axis === 0 ? r : c);
  const scales = new Float32Array(dims[axis]);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scales[channel(r, c)] = Math.max(scales[channel(r, c)], Math.abs(w[r * cols + c]));
  // An all-zero channel keeps scale 1 (a zero scale would divide by zero) and quantizes to zeros.
  for (let k = 0; k < scales.length; k++) scales[k] = scales[k] > 0 ? scales[k] / 127 : 1;
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c] / scales[channel(r, c)])));
  }
  return { values, scales };
}

function transpose(w: Float32Array, [rows, cols]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/** A float32 initializer's values, from raw_data (little-endian) or float_data. */
function floatData(init: proto.ITensorProto, file: string): Float32Array {
  const n = (init.dims ?? []).map(toNumber).reduce((p, d) => p * d, 1);
  if (init.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new ModelFormatError(file, `keeps ${init.name} in external data; quantize a model with its weights inside the .onnx file.`);
  }
  if (init.rawData && init.rawData.length > 0) {
    if (init.rawData.length !== 4 * n) throw new ModelFormatError(file, `initializer ${init.name} has ${init.rawData.length} bytes, expected ${4 * n} for ${n} float32 values.`);
    const view = new DataView(init.rawData.buffer, init.rawData.byteOffset, init.rawData.byteLength);
    return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
  }
  if (init.floatData?.length !== n) throw new ModelFormatError(file, `initializer ${init.name} has ${init.floatData?.length ?? 0} values, expected ${n}.`);
  return Float32Array.from(init.floatData);
}

function int8Tensor(name: string, dims: number[], values: Int8Array): proto.ITensorProto & { name: string } {
  return { name, dims, dataType: DataType.INT8, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function floatTensor(name: string, dims: number[], values: Float32Array): proto.ITensorProto & { name: string } {
  const rawData = new Uint8Array(4 * values.length);
  const view = new DataView(rawData.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return { name, dims, dataType: DataType.FLOAT, rawData };
}

/** protobufjs gives int64 fields as Long objects. */
function toNumber(x: number | { toNumber(): number }): number {
  return typeof x === "number" ? x : x.toNumber();
}
