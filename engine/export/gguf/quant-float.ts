// Unquantized encodings: F32 as is, F16 and BF16 rounded to nearest even.
import { float32BitsToBf16, float32ToHalfBits } from '../../io/dtypes.js';

export function encodeF32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

export function encodeF16(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalfBits(values[i]!);
  return new Uint8Array(out.buffer);
}

export function encodeBF16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32BitsToBf16(bits[i]!);
  return new Uint8Array(out.buffer);
}

/** ggml's nearest_int: round half to even through the float32 magic-number trick. */
export function nearestInt(v: number): number {
  return Math.fround(v + 12582912) - 12582912;
}

/** A value as the fp16 a block stores, and back (the value the dequantizer will see). */
export function toHalf(v: number): { bits: number; value: number } {
  const bits = float32ToHalfBits(v);
  return { bits, value: halfValue(bits) };
}

export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
