// 16-bit floats. IEEE binary16 (F16): 1 sign, 5 exponent (bias 15), 10 mantissa bits.
// bfloat16 (BF16): the top 16 bits of a float32. Narrowing rounds to nearest, ties to even,
// as PyTorch's `.half()` and `.bfloat16()` do.

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

let f16Table: Float32Array | undefined;

/** F16 bits → float32, through a 65,536-entry table built on first use. */
export function float16BitsToFloat32(bits: number): number {
  f16Table ??= buildF16Table();
  return f16Table[bits & 0xffff];
}

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[bits] = mantissa ? NaN : sign * Infinity;
    else table[bits] = sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
  }
  return table;
}

/** float32 → F16 bits, round to nearest even; too large → ±inf, too small → ±0. */
export function float32ToFloat16Bits(value: number): number {
  scratchFloat[0] = value;
  return bitsToFloat16(scratchBits[0]);
}

function bitsToFloat16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    // Subnormal half: the implicit leading 1 becomes explicit and shifts down; rounding up
    // into 0x400 yields the smallest normal, which is the right answer.
    return sign | shiftRightRoundEven(mantissa | 0x800000, 14 - halfExponent);
  }
  // A carry out of the mantissa increments the exponent (and overflows to inf at the top).
  return sign | ((halfExponent << 10) + shiftRightRoundEven(mantissa, 13));
}

/** float32 → BF16 bits, round to nearest even; NaN stays NaN. */
export function float32ToBfloat16Bits(value: number): number {
  scratchFloat[0] = value;
  return bitsToBfloat16(scratchBits[0]);
}

function bitsToBfloat16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** BF16 bits → float32. */
export function bfloat16BitsToFloat32(bits: number): number {
  scratchBits[0] = (bits & 0xffff) << 16;
  return scratchFloat[0];
}

function shiftRightRoundEven(value: number, shift: number): number {
  const quotient = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return remainder > half || (remainder === half && quotient & 1) ? quotient + 1 : quotient;
}

/** Whole arrays: the loops avoid a call and the scratch buffer per element (100M-element models). */
export function float16ToFloat32Array(halves: Uint16Array): Float32Array {
  f16Table ??= buildF16Table();
  const table = f16Table;
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}

export function float32ArrayToFloat16(floats: Float32Array): Uint16Array {
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  const out = new Uint16Array(floats.length);
  for (let i = 0; i < bits.length; i++) out[i] = bitsToFloat16(bits[i]);
  return out;
}

export function float32ArrayToBfloat16(floats: Float32Array): Uint16Array {
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  const out = new Uint16Array(floats.length);
  for (let i = 0; i < bits.length; i++) out[i] = bitsToBfloat16(bits[i]);
  return out;
}
