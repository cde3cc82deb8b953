import { describe, expect, it } from 'vitest';
import {
  decodeValues,
  encodeValues,
  float32BitsToBf16,
  float32ToHalfBits,
  halfBitsToFloat32,
} from './dtypes.js';

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0]!;
const fromBits = (b: number) => new Float32Array(Uint32Array.of(b).buffer)[0]!;

describe('float16', () => {
  it('matches IEEE 754 binary16 at known points', () => {
    expect(float32ToHalfBits(1)).toBe(0x3c00);
    expect(float32ToHalfBits(-2)).toBe(0xc000);
    expect(float32ToHalfBits(65504)).toBe(0x7bff);
    expect(float32ToHalfBits(65520)).toBe(0x7c00); // rounds up past the largest finite half
    expect(float32ToHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToHalfBits(2 ** -26)).toBe(0x0000); // below half of it: flush to zero
    expect(float32ToHalfBits(-0)).toBe(0x8000);
    expect(float32ToHalfBits(1 / 3)).toBe(0x3555);
    expect(float32ToHalfBits(Infinity)).toBe(0x7c00);
    expect(float32ToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(halfBitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it('every half value round-trips, and midpoints round to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfBitsToFloat32(h);
      if (Number.isNaN(v)) continue;
      expect(float32ToHalfBits(v)).toBe(h);
      // Midpoint between h and the next half of the same sign (finite, nonzero steps only).
      const next = halfBitsToFloat32(h + 1);
      if ((h & 0x7fff) >= 0x7bff || !Number.isFinite(next) || (h & 0x8000) !== ((h + 1) & 0x8000))
        continue;
      const mid = (v + next) / 2;
      if (Math.fround(mid) !== mid) continue;
      expect(float32ToHalfBits(mid)).toBe(h & 1 ? h + 1 : h);
    }
  });
});

describe('bfloat16', () => {
  it('rounds to nearest even and keeps NaN a NaN', () => {
    expect(float32BitsToBf16(bitsOf(1))).toBe(0x3f80);
    expect(float32BitsToBf16(0x3f808000)).toBe(0x3f80); // tie, even below
    expect(float32BitsToBf16(0x3f818000)).toBe(0x3f82); // tie, odd below: up
    expect(float32BitsToBf16(0x3f808001)).toBe(0x3f81); // above the tie
    const nan = float32BitsToBf16(0x7f800001);
    expect(Number.isNaN(fromBits(nan << 16))).toBe(true);
  });
});

describe('encode and decode', () => {
  const values = Float32Array.of(0, 1, -1.5, 3.25, 1e-3, -70000, 0.1);
  it('float dtypes round-trip within their precision', () => {
    for (const [dtype, rel] of [
      ['F32', 0],
      ['F64', 0],
      ['F16', 2 ** -11],
      ['BF16', 2 ** -8],
    ] as const) {
      const back = decodeValues(dtype, encodeValues(dtype, values));
      expect(back).toBeInstanceOf(Float32Array);
      for (let i = 0; i < values.length; i++) {
        const expected = dtype === 'F16' && Math.abs(values[i]!) > 65504 ? -Infinity : values[i]!;
        if (!Number.isFinite(expected)) expect(back[i]).toBe(expected);
        else
          expect(Math.abs(back[i]! - expected)).toBeLessThanOrEqual(
            Math.abs(expected) * rel + 1e-7,
          );
      }
    }
  });

  it('integer dtypes decode to int32 and refuse values that do not fit', () => {
    const ints = Int32Array.of(0, 1, -1, 127, -128);
    for (const dtype of ['I8', 'I16', 'I32', 'I64'] as const) {
      expect(decodeValues(dtype, encodeValues(dtype, ints))).toEqual(ints);
    }
    expect(decodeValues('U8', encodeValues('U8', Uint8Array.of(0, 255)))).toEqual(
      Int32Array.of(0, 255),
    );
    expect(decodeValues('BOOL', Uint8Array.of(1, 0))).toEqual(Int32Array.of(1, 0));
    expect(() => encodeValues('I8', Int32Array.of(200))).toThrow(/200/);
    expect(() => encodeValues('I32', Float32Array.of(1.5))).toThrow(/1.5/);
    expect(() => decodeValues('I64', new Uint8Array(BigInt64Array.of(2n ** 40n).buffer))).toThrow(
      /int32/,
    );
  });

  it('fp8 decodes with the OCP tables', () => {
    // E4M3: 0x38 = 1.0, 0x7e = 448 (max), 0x7f = NaN; E5M2: 0x3c = 1.0, 0x7c = inf.
    const e4 = decodeValues('F8_E4M3', Uint8Array.of(0x38, 0x7e, 0x7f, 0x01));
    expect([e4[0], e4[1], Number.isNaN(e4[2]), e4[3]]).toEqual([1, 448, true, 2 ** -9]);
    const e5 = decodeValues('F8_E5M2', Uint8Array.of(0x3c, 0x7c, 0xc0));
    expect([...e5]).toEqual([1, Infinity, -2]);
  });
});
