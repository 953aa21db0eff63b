import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../../../src/core/errors.ts";
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from "../../../src/core/model/half.ts";
import { readSafetensors, writeSafetensors, type TensorToWrite } from "../../../src/core/model/safetensors.ts";

const ascii = (text: string) => new TextEncoder().encode(text);

/** A safetensors file from a header (object or exact text) and data bytes, header padded like the writer. */
function craft(header: object | string, data: ArrayLike<number>, { pad = true } = {}): Uint8Array {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  if (pad) json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = ascii(json);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(Array.from(data), 8 + headerBytes.length);
  return out;
}

const le16 = (...words: number[]) => words.flatMap((w) => [w & 0xff, w >> 8]);

describe("safetensors: byte layout", () => {
  // Hand-written from the format description: u64 LE header length, compact JSON with
  // __metadata__ first and tensors sorted by name, padded with spaces to a multiple of 8, then
  // the data. The JSON below is 151 bytes, so one space pads it to 152 = 0x98.
  const headerJson =
    '{"__metadata__":{"format":"pt"},' +
    '"a.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"b.weight":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  const expected = new Uint8Array([
    0x98, 0, 0, 0, 0, 0, 0, 0,
    ...ascii(headerJson),
    0x20,
    0x00, 0x00, 0x00, 0x3f, // a.bias = 0.5
    0x00, 0x00, 0x80, 0x3f, // b.weight[0] = 1.0
    0x00, 0x00, 0x20, 0xc0, // b.weight[1] = -2.5
  ]);

  it("writes exactly the hand-written bytes (metadata first, names sorted, space padding)", () => {
    expect(headerJson.length).toBe(151);
    const tensors = new Map<string, TensorToWrite>([
      ["b.weight", { shape: [2], data: new Float32Array([1, -2.5]) }],
      ["a.bias", { shape: [1], data: new Float32Array([0.5]) }],
    ]);
    expect(writeSafetensors(tensors, { metadata: { format: "pt" } })).toEqual(expected);
  });

  it("reads the hand-written bytes", () => {
    const file = readSafetensors(expected);
    expect(file.metadata).toEqual({ format: "pt" });
    expect([...file.tensors.keys()]).toEqual(["a.bias", "b.weight"]);
    expect(file.tensors.get("b.weight")).toMatchObject({ dtype: "F32", shape: [2], data: new Float32Array([1, -2.5]) });
    expect(file.tensors.get("a.bias")!.raw).toEqual(new Uint8Array([0, 0, 0, 0x3f]));
  });

  it("matches the safetensors library's own serialisation example (header of exactly 64 bytes, no padding)", () => {
    // From the Rust crate's test_serialization: {"attn.0": F32 [1,2,3] = 0..5}, no metadata.
    const bytes = writeSafetensors(new Map([["attn.0", { shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]]));
    expect(Array.from(bytes.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(bytes.subarray(8, 72))).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(Array.from(bytes.subarray(72, 80))).toEqual([0, 0, 0, 0, 0, 0, 128, 63]);
    expect(bytes.length).toBe(8 + 64 + 24);
  });

  it("writes an empty file as the library does", () => {
    expect(Array.from(writeSafetensors(new Map()))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  it("sorts by descending dtype (I64, F64, F32, I32) then by name, as the Rust writer does", () => {
    const bytes = writeSafetensors(
      new Map<string, TensorToWrite>([
        ["a", { shape: [1], data: new Int32Array([1]) }],
        ["b", { shape: [1], data: new Float32Array([1]) }],
        ["c", { shape: [1], data: new Float64Array([1]) }],
        ["d", { shape: [1], data: new BigInt64Array([1n]) }],
        ["e", { shape: [1], data: new Float32Array([2]) }],
      ]),
    );
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))));
    expect(Object.keys(header)).toEqual(["d", "c", "b", "e", "a"]);
    expect(header.d.data_offsets).toEqual([0, 8]);
    expect(header.a.data_offsets).toEqual([24, 28]);
  });
});

describe("safetensors: dtypes", () => {
  it("round-trips F32, F64, I32 and I64", () => {
    const tensors = new Map<string, TensorToWrite>([
      ["f32", { shape: [2, 2], data: new Float32Array([1.5, -2.5, 0, 3.4e38]) }],
      ["f64", { shape: [3], data: new Float64Array([Math.PI, -1e-300, Infinity]) }],
      ["i32", { shape: [2], data: new Int32Array([-2147483648, 2147483647]) }],
      ["i64", { shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 3n]) }],
      ["scalar", { shape: [], data: new Float32Array([7]) }],
      ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const { tensors: read } = readSafetensors(writeSafetensors(tensors));
    for (const [name, tensor] of tensors) {
      expect(read.get(name)!.shape, name).toEqual(tensor.shape);
      expect(read.get(name)!.data, name).toEqual(tensor.data);
    }
    expect(read.get("i64")!.dtype).toBe("I64");
    expect(read.get("f64")!.data).toBeInstanceOf(Float64Array);
  });

  it("decodes F16 bit patterns to float32", () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc100, -2.5],
      [0x0000, 0],
      [0x8000, -0],
      [0x0001, 2 ** -24], // smallest subnormal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0400, 2 ** -14], // smallest normal
      [0x7bff, 65504], // largest finite
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    const file = craft({ h: { dtype: "F16", shape: [cases.length + 1], data_offsets: [0, 2 * (cases.length + 1)] } }, le16(...cases.map(([bits]) => bits), 0x7e00));
    const tensor = readSafetensors(file).tensors.get("h")!;
    expect(tensor.dtype).toBe("F16");
    expect(tensor.data).toBeInstanceOf(Float32Array);
    cases.forEach(([bits, value], i) => expect(Object.is(tensor.data[i], value), `0x${bits.toString(16)}`).toBe(true));
    expect(tensor.data[cases.length]).toBeNaN();
    expect(Array.from(tensor.raw.subarray(0, 2))).toEqual([0x00, 0x3c]);
  });

  it("decodes BF16 bit patterns to float32", () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc020, -2.5],
      [0x0000, 0],
      [0x8000, -0],
      [0x0001, 2 ** -133], // subnormal: float32 bits 0x00010000
      [0x7f80, Infinity],
      [0xff80, -Infinity],
    ];
    const file = craft({ h: { dtype: "BF16", shape: [cases.length], data_offsets: [0, 2 * cases.length] } }, le16(...cases.map(([bits]) => bits)));
    const tensor = readSafetensors(file).tensors.get("h")!;
    expect(tensor.dtype).toBe("BF16");
    cases.forEach(([bits, value], i) => expect(Object.is(tensor.data[i], value), `0x${bits.toString(16)}`).toBe(true));
    cases.forEach(([bits, value]) => expect(Object.is(bfloat16BitsToFloat32(bits), value)).toBe(true));
  });

  it("narrows float32 to F16 with round-to-nearest-even", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2.5, 0xc100],
      [0, 0x0000],
      [-0, 0x8000],
      [65504, 0x7bff],
      [65520, 0x7c00], // halfway to 65536: ties to even, which is inf
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // halfway between 0 and the smallest subnormal: even is 0
      [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal steps: even is 2
      [1e-9, 0x0000],
      [1 + 2 ** -11, 0x3c00], // halfway: even mantissa 0
      [1 + 3 * 2 ** -11, 0x3c02], // halfway: even mantissa 2
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up out of the subnormals into the smallest normal
    ];
    for (const [value, bits] of cases) expect(float32ToFloat16Bits(value), String(value)).toBe(bits);
    expect(float32ToFloat16Bits(NaN) & 0x7e00).toBe(0x7e00);
    for (let bits = 0; bits < 0x7c00; bits += 37) expect(float32ToFloat16Bits(float16BitsToFloat32(bits))).toBe(bits);
  });

  it("narrows float32 to BF16 with round-to-nearest-even", () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(-2.5)).toBe(0xc020);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(float32ToBfloat16Bits(Infinity)).toBe(0x7f80);
    expect(float32ToBfloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it("writes and reads back F16 and BF16", () => {
    const data = new Float32Array([1, -2.5, 0, 2 ** -24, Infinity]);
    for (const floatDtype of ["F16", "BF16"] as const) {
      const bytes = writeSafetensors(new Map([["w", { shape: [5], data }]]), { floatDtype });
      const tensor = readSafetensors(bytes).tensors.get("w")!;
      expect(tensor.dtype).toBe(floatDtype);
      expect(tensor.raw.length).toBe(10);
      expect(tensor.data).toEqual(data);
    }
    const f16 = readSafetensors(writeSafetensors(new Map([["w", { shape: [1], data: new Float32Array([1]) }]]), { floatDtype: "F16" }));
    expect(Array.from(f16.tensors.get("w")!.raw)).toEqual([0x00, 0x3c]);
  });

  it("returns aligned F32 data as a view on the file and copies only when unaligned", () => {
    const bytes = writeSafetensors(new Map([["w", { shape: [3], data: new Float32Array([1, 2, 3]) }]]));
    const aligned = readSafetensors(bytes).tensors.get("w")!;
    expect(aligned.data.buffer).toBe(bytes.buffer);

    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = readSafetensors(shifted.subarray(1)).tensors.get("w")!;
    expect(unaligned.data.buffer).not.toBe(shifted.buffer);
    expect(unaligned.data).toEqual(new Float32Array([1, 2, 3]));
  });

  it.each(["F16", "BF16"] as const)("reads %s from an odd byte offset", (floatDtype) => {
    const bytes = writeSafetensors(new Map([["w", { shape: [3], data: new Float32Array([1, -2.5, 0.5]) }]]), { floatDtype });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(readSafetensors(shifted.subarray(1)).tensors.get("w")!.data).toEqual(new Float32Array([1, -2.5, 0.5]));
  });

  it("reads F64 and I64 from an offset that is a multiple of 4 but not of 8", () => {
    const bytes = writeSafetensors(new Map<string, TensorToWrite>([["a", { shape: [1], data: new Float64Array([0.1]) }], ["b", { shape: [1], data: new BigInt64Array([-5n]) }]]));
    const shifted = new Uint8Array(bytes.length + 4);
    shifted.set(bytes, 4);
    const { tensors } = readSafetensors(shifted.subarray(4));
    expect(tensors.get("a")!.data).toEqual(new Float64Array([0.1]));
    expect(tensors.get("b")!.data).toEqual(new BigInt64Array([-5n]));
  });
});

describe("safetensors: corrupt files", () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ["shorter than 8 bytes", () => new Uint8Array([1, 2, 3]), /shorter than the 8-byte header length/],
    [
      "header length beyond the file",
      () => {
        const bytes = craft({}, []);
        new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
        return bytes;
      },
      /header length 1000 goes beyond the end of the file \(16 bytes\)/,
    ],
    ["invalid JSON", () => craft('{"w": {"dtype": "F32",', []), /header is not valid JSON/],
    ["header not an object", () => craft("[1, 2]", []), /header is not a JSON object/],
    ["unknown dtype", () => craft({ w: { dtype: "Q4_K", shape: [1], data_offsets: [0, 1] } }, [0]), /tensor 'w': dtype "Q4_K" is not supported/],
    ["bad shape", () => craft({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32(1)), /tensor 'w': shape \[-1\] is not a list of non-negative integers/],
    ["bad offsets", () => craft({ w: { dtype: "F32", shape: [1], data_offsets: [0] } }, f32(1)), /tensor 'w': data_offsets \[0\] is not a pair/],
    [
      "offsets out of range",
      () => craft({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(2)),
      /tensor 'w': data_offsets \[0, 16\] go beyond the data buffer \(8 bytes\)/,
    ],
    [
      "overlapping offsets",
      () =>
        craft(
          { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
          f32(3),
        ),
      /tensor 'b': data_offsets \[4, 12\] overlap the previous tensor/,
    ],
    [
      "a gap between tensors",
      () =>
        craft(
          { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } },
          f32(3),
        ),
      /tensor 'b': data_offsets \[8, 12\] leave a gap after byte 4/,
    ],
    [
      "offsets not covering the buffer",
      () => craft({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32(2)),
      /cover 4 bytes of data but the file holds 8/,
    ],
    [
      "shape × dtype size ≠ byte length",
      () => craft({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(2)),
      /tensor 'w': shape \[3\] × F32 \(4 bytes\) needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    ],
    ["offsets ending before they begin", () => craft({ w: { dtype: "F32", shape: [0], data_offsets: [4, 0] } }, f32(1)), /tensor 'w': data_offsets \[4, 0\] end before they begin/],
    ["non-string metadata", () => craft({ __metadata__: { format: 1 } }, []), /__metadata__ 'format' is not a string/],
  ];

  it.each(cases)("%s → ModelFormatError naming the file and the problem", (_, make, problem) => {
    let caught: unknown;
    try {
      readSafetensors(make(), "encoder.safetensors");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModelFormatError);
    const error = caught as ModelFormatError;
    expect(error.file).toBe("encoder.safetensors");
    expect(error.message.startsWith("encoder.safetensors: ")).toBe(true);
    expect(error.message).toMatch(problem);
  });

  it("refuses to write a tensor whose data does not fill its shape", () => {
    expect(() => writeSafetensors(new Map([["w", { shape: [2, 2], data: new Float32Array(3) }]]))).toThrow(
      /tensor 'w': shape \[2, 2\] has 4 elements but its data has 3/,
    );
  });
});
