// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON ({name: {dtype, shape, data_offsets}},
// optional "__metadata__": {string: string}), then the tensors' bytes, little-endian,
// row-major, back to back. The writer reproduces the Rust library byte for byte: tensors
// sorted by descending dtype then name, compact JSON, header padded with spaces to a
// multiple of 8 so that every tensor starts aligned. Typed arrays are read and written in
// the host's byte order, which is little-endian on every platform a browser runs on.

import { ModelFormatError } from "../errors.ts";
import { float16ToFloat32Array, float32ArrayToBfloat16, float32ArrayToFloat16 } from "./half.ts";

export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32";

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** A tensor read from a safetensors file. */
export interface Tensor {
  shape: number[];
  /** F32, F16 and BF16 arrive as Float32Array; F64, I64 and I32 in their own arrays. */
  data: TensorData;
  /** The dtype as stored in the file (data may be wider: F16/BF16 → Float32Array). */
  dtype: DType;
  /** The tensor's bytes exactly as stored: a view into the file, not a copy. */
  raw: Uint8Array;
}

/** What the writer takes: a Float32Array is written as F32, F16 or BF16 (see options). */
export interface TensorToWrite {
  shape: readonly number[];
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata?: Record<string, string>;
}

export type FloatDType = "F32" | "F16" | "BF16";

export interface WriteOptions {
  /** dtype for Float32Array tensors; default F32. */
  floatDtype?: FloatDType;
  /** The "__metadata__" map. transformers refuses a file whose metadata lacks format "pt". */
  metadata?: Record<string, string> | null;
}

const BYTES_PER_ELEMENT: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

/**
 * The Rust library's Dtype enum order (BOOL < U8 < … < F16 < BF16 < I32 < U32 < F32 < F64 <
 * I64 < U64): the writer sorts by it, descending, so the widest dtypes come first.
 */
const DTYPE_ORDER: Record<DType, number> = { F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13 };

/** Same limit as the Rust reader: a larger header is a corrupt file, not a big model. */
const MAX_HEADER_BYTES = 100_000_000;

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.hasOwn(BYTES_PER_ELEMENT, value);
}

export function bytesPerElement(dtype: DType): number {
  return BYTES_PER_ELEMENT[dtype];
}

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Reads a safetensors file. F32 data that is 4-byte aligned in memory is returned as a view
 * on `bytes` (no copy): do not reuse `bytes` for something else while the tensors are alive.
 */
export function readSafetensors(bytes: Uint8Array, fileName = "model.safetensors"): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new ModelFormatError(fileName, problem);
  };
  if (bytes.byteLength < 8) {
    fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length; it is not a safetensors file`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    fail(
      `header length ${headerLength} goes beyond the end of the file (${bytes.byteLength} bytes); ` +
        `the file is truncated or not a safetensors file`,
    );
  }
  const n = Number(headerLength);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);

  let headerText = "";
  try {
    headerText = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }

  let metadata: Record<string, string> | undefined;
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(info, fail);
      continue;
    }
    entries.push(parseEntry(name, info, fail));
  }

  // Offsets must tile the data buffer exactly: sorted by start, no gap, no overlap, and the
  // last one ends where the file ends.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  let expectedBegin = 0;
  for (const entry of entries) {
    if (entry.begin < expectedBegin) {
      fail(`tensor '${entry.name}': data_offsets [${entry.begin}, ${entry.end}] overlap the previous tensor (ends at ${expectedBegin})`);
    }
    if (entry.begin > expectedBegin) {
      fail(`tensor '${entry.name}': data_offsets [${entry.begin}, ${entry.end}] leave a gap after byte ${expectedBegin}`);
    }
    if (entry.end > dataLength) {
      fail(
        `tensor '${entry.name}': data_offsets [${entry.begin}, ${entry.end}] go beyond the data buffer ` +
          `(${dataLength} bytes); the file is truncated`,
      );
    }
    expectedBegin = entry.end;
  }
  if (expectedBegin !== dataLength) {
    fail(`the tensors cover ${expectedBegin} bytes of data but the file holds ${dataLength}; offsets do not cover the buffer`);
  }

  const tensors = new Map<string, Tensor>();
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, { shape: entry.shape, dtype: entry.dtype, data: decode(entry.dtype, raw), raw });
  }
  return { tensors, metadata };
}

function parseMetadata(info: unknown, fail: (problem: string) => never): Record<string, string> {
  if (typeof info !== "object" || info === null || Array.isArray(info)) {
    fail("__metadata__ is not an object of strings");
  }
  for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
    if (typeof value !== "string") fail(`__metadata__ '${key}' is not a string`);
  }
  return { ...(info as Record<string, string>) };
}

function parseEntry(name: string, info: unknown, fail: (problem: string) => never): HeaderEntry {
  if (typeof info !== "object" || info === null || Array.isArray(info)) {
    fail(`tensor '${name}': header entry is not an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (!isDType(dtype)) {
    fail(`tensor '${name}': dtype ${JSON.stringify(dtype)} is not supported; supported: ${Object.keys(BYTES_PER_ELEMENT).join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  const expectedBytes = elements * BYTES_PER_ELEMENT[dtype as DType];
  if (expectedBytes !== end - begin) {
    fail(
      `tensor '${name}': shape [${(shape as number[]).join(", ")}] × ${dtype} (${BYTES_PER_ELEMENT[dtype as DType]} bytes) ` +
        `needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: dtype as DType, shape: [...(shape as number[])], begin, end };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Bytes → typed array: a view when aligned (F32, F64, I32, I64), else one copy. */
function decode(dtype: DType, raw: Uint8Array): TensorData {
  switch (dtype) {
    case "F32":
      return new Float32Array(alignedBuffer(raw, 4), alignedOffset(raw, 4), raw.byteLength / 4);
    case "F64":
      return new Float64Array(alignedBuffer(raw, 8), alignedOffset(raw, 8), raw.byteLength / 8);
    case "I32":
      return new Int32Array(alignedBuffer(raw, 4), alignedOffset(raw, 4), raw.byteLength / 4);
    case "I64":
      return new BigInt64Array(alignedBuffer(raw, 8), alignedOffset(raw, 8), raw.byteLength / 8);
    case "F16":
      return float16ToFloat32Array(uint16View(raw));
    case "BF16": {
      // A bfloat16 is the top half of a float32: shift its bits up by 16.
      const halves = uint16View(raw);
      const bits = new Int32Array(halves.length);
      for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

function uint16View(raw: Uint8Array): Uint16Array {
  return new Uint16Array(alignedBuffer(raw, 2), alignedOffset(raw, 2), raw.byteLength / 2);
}

function alignedBuffer(raw: Uint8Array, alignment: number): ArrayBufferLike {
  return raw.byteOffset % alignment === 0 ? raw.buffer : raw.slice().buffer;
}

function alignedOffset(raw: Uint8Array, alignment: number): number {
  return raw.byteOffset % alignment === 0 ? raw.byteOffset : 0;
}

/** Writes tensors in the byte layout Python's `safetensors.torch.save_file` produces. */
export function writeSafetensors(tensors: Iterable<readonly [string, TensorToWrite]>, options: WriteOptions = {}): Uint8Array {
  const floatDtype = options.floatDtype ?? "F32";
  const prepared = [...tensors].map(([name, tensor]) => {
    const dtype = dtypeFor(tensor.data, floatDtype);
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (elements !== tensor.data.length) {
      throw new ModelFormatError(
        "model.safetensors",
        `tensor '${name}': shape [${tensor.shape.join(", ")}] has ${elements} elements but its data has ${tensor.data.length}`,
      );
    }
    return { name, dtype, tensor };
  });
  prepared.sort((a, b) => DTYPE_ORDER[b.dtype] - DTYPE_ORDER[a.dtype] || compareNames(a.name, b.name));

  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const { name, dtype, tensor } of prepared) {
    if (name === "__metadata__") throw new ModelFormatError("model.safetensors", "'__metadata__' cannot be a tensor name");
    const byteLength = tensor.data.length * BYTES_PER_ELEMENT[dtype];
    header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padding = (8 - (json.byteLength % 8)) % 8;
  const headerLength = json.byteLength + padding;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let cursor = 8 + headerLength;
  for (const { dtype, tensor } of prepared) {
    const encoded = encode(dtype, tensor.data);
    out.set(encoded, cursor);
    cursor += encoded.byteLength;
  }
  return out;
}

/** Rust compares names as byte strings; for the ASCII names of models this is code-unit order. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dtypeFor(data: TensorData, floatDtype: FloatDType): DType {
  if (data instanceof Float32Array) return floatDtype;
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Int32Array) return "I32";
  return "I64";
}

function encode(dtype: DType, data: TensorData): Uint8Array {
  const bytesOf = (array: TensorData) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (dtype === "F16" || dtype === "BF16") {
    const floats = data as Float32Array;
    const halves = dtype === "F16" ? float32ArrayToFloat16(floats) : float32ArrayToBfloat16(floats);
    return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
  }
  return bytesOf(data);
}

/** Any floating tensor as Float32Array (F64 is narrowed); integer tensors are refused. */
export function toFloat32(tensor: TensorToWrite, name: string, fileName = "model.safetensors"): Float32Array {
  if (tensor.data instanceof Float32Array) return tensor.data;
  if (tensor.data instanceof Float64Array) return Float32Array.from(tensor.data);
  const dtype = tensor.data instanceof Int32Array ? "I32" : "I64";
  throw new ModelFormatError(fileName, `tensor '${name}' has dtype ${dtype}; a weight must be F32, F16, BF16 or F64`);
}
