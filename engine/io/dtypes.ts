// safetensors dtypes: element sizes and conversion to and from the two dtypes tensors live in
// (float32 and int32). Half-precision and fp8 decode through lookup tables, so a multi-gigabyte
// checkpoint converts at memory speed instead of bit-twiddling per element.

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

const FLOATS = new Set<SafetensorsDtype>(['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2']);

export function isSafetensorsDtype(value: string): value is SafetensorsDtype {
  return Object.hasOwn(DTYPE_BYTES, value);
}

export function isFloatDtype(dtype: SafetensorsDtype): boolean {
  return FLOATS.has(dtype);
}

/** Decoded tensor data: floating dtypes become float32, integer and bool dtypes int32. */
export type DecodedValues = Float32Array | Int32Array;

/**
 * Decode little-endian bytes of `dtype` into float32 or int32 values. `bytes` must start at an
 * offset aligned to the element size (a freshly allocated buffer is).
 * Integers that do not fit int32 are an error rather than a silent wrap.
 */
export function decodeValues(dtype: SafetensorsDtype, bytes: Uint8Array): DecodedValues {
  const { buffer, byteOffset, byteLength } = bytes;
  const n = byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, byteOffset, n));
    case 'F16':
      return lookup(new Uint16Array(buffer, byteOffset, n), halfTable());
    case 'BF16': {
      const out = new Uint32Array(n);
      const src = new Uint16Array(buffer, byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = src[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'F8_E4M3':
      return lookup(bytes, fp8Table('E4M3'));
    case 'F8_E5M2':
      return lookup(bytes, fp8Table('E5M2'));
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'I16':
      return Int32Array.from(new Int16Array(buffer, byteOffset, n));
    case 'I8':
      return Int32Array.from(new Int8Array(buffer, byteOffset, n));
    case 'U16':
      return Int32Array.from(new Uint16Array(buffer, byteOffset, n));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes);
    case 'U32':
      return narrow(new Uint32Array(buffer, byteOffset, n));
    case 'I64':
      return narrow(new BigInt64Array(buffer, byteOffset, n));
    case 'U64':
      return narrow(new BigUint64Array(buffer, byteOffset, n));
  }
}

/** Any typed array a caller may hand to the writer. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

/** Encode values as little-endian bytes of `dtype` (float targets round to nearest even). */
export function encodeValues(dtype: SafetensorsDtype, values: NumericArray): Uint8Array {
  const n = values.length;
  const asNumbers = (): ArrayLike<number> =>
    values instanceof BigInt64Array || values instanceof BigUint64Array
      ? Array.from(values, Number)
      : values;
  switch (dtype) {
    case 'F32':
      return bytesOf(values instanceof Float32Array ? values : Float32Array.from(asNumbers()));
    case 'F64':
      return bytesOf(Float64Array.from(asNumbers()));
    case 'F16': {
      const src = Float32Array.from(asNumbers());
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = float32ToHalfBits(src[i]!);
      return bytesOf(out);
    }
    case 'BF16': {
      const bits = new Uint32Array(Float32Array.from(asNumbers()).buffer);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = float32BitsToBf16(bits[i]!);
      return bytesOf(out);
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
      throw new Error(`Writing ${dtype} is not supported; write F16, BF16 or F32.`);
    case 'I64':
      return bytesOf(BigInt64Array.from(checkedIntegers(values, -(2 ** 63), 2 ** 63 - 1), BigInt));
    case 'U64':
      return bytesOf(BigUint64Array.from(checkedIntegers(values, 0, 2 ** 64 - 1), BigInt));
    case 'I32':
      return bytesOf(Int32Array.from(checkedIntegers(values, -(2 ** 31), 2 ** 31 - 1)));
    case 'U32':
      return bytesOf(Uint32Array.from(checkedIntegers(values, 0, 2 ** 32 - 1)));
    case 'I16':
      return bytesOf(Int16Array.from(checkedIntegers(values, -(2 ** 15), 2 ** 15 - 1)));
    case 'U16':
      return bytesOf(Uint16Array.from(checkedIntegers(values, 0, 2 ** 16 - 1)));
    case 'I8':
      return bytesOf(Int8Array.from(checkedIntegers(values, -128, 127)));
    case 'U8':
      return Uint8Array.from(checkedIntegers(values, 0, 255));
    case 'BOOL':
      return Uint8Array.from(checkedIntegers(values, 0, 1));
  }
}

function bytesOf(a: Exclude<NumericArray, Uint8Array> | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function checkedIntegers(values: NumericArray, min: number, max: number): number[] {
  const out = Array.from(values as ArrayLike<number | bigint>, Number);
  for (const v of out) {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${v} is not an integer in [${min}, ${max}].`);
    }
  }
  return out;
}

function lookup(codes: Uint8Array | Uint16Array, table: Float32Array): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]!]!;
  return out;
}

function narrow(values: Uint32Array | BigInt64Array | BigUint64Array): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]!);
    if (v < -(2 ** 31) || v > 2 ** 31 - 1) {
      throw new RangeError(`element ${i} is ${values[i]}, outside the int32 range tensors use.`);
    }
    out[i] = v;
  }
  return out;
}

let halfCache: Float32Array | undefined;
function halfTable(): Float32Array {
  if (!halfCache) {
    halfCache = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) halfCache[bits] = halfBitsToFloat32(bits);
  }
  return halfCache;
}

/** IEEE 754 binary16 bits to a number. */
export function halfBitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A float32 value to binary16 bits, rounding to nearest even (as torch's `.half()`). */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand into place, rounding to nearest even.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let m = mantissa >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  const rest = mantissa & 0x1fff;
  mantissa >>>= 13;
  if (rest > 0x1000 || (rest === 0x1000 && mantissa & 1)) {
    mantissa++;
    if (mantissa === 0x400) {
      mantissa = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | mantissa;
}

/** float32 bits to bfloat16 bits, rounding to nearest even; NaN stays a quiet NaN. */
export function float32BitsToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

const fp8Cache = new Map<'E4M3' | 'E5M2', Float32Array>();
/** OCP fp8 formats as torch stores them: E4M3 "fn" (no infinities, 0x7f/0xff NaN), E5M2 IEEE-like. */
function fp8Table(kind: 'E4M3' | 'E5M2'): Float32Array {
  let table = fp8Cache.get(kind);
  if (table) return table;
  const [expBits, bias] = kind === 'E4M3' ? [4, 7] : [5, 15];
  const manBits = 7 - expBits;
  table = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    const sign = code & 0x80 ? -1 : 1;
    const exponent = (code >> manBits) & ((1 << expBits) - 1);
    const mantissa = code & ((1 << manBits) - 1);
    const maxExp = (1 << expBits) - 1;
    let v: number;
    if (kind === 'E4M3' && exponent === maxExp && mantissa === (1 << manBits) - 1) v = NaN;
    else if (kind === 'E5M2' && exponent === maxExp) v = mantissa ? NaN : sign * Infinity;
    else if (exponent === 0) v = sign * mantissa * 2 ** (1 - bias - manBits);
    else v = sign * (1 + mantissa / (1 << manBits)) * 2 ** (exponent - bias);
    table[code] = v;
  }
  fp8Cache.set(kind, table);
  return table;
}
