// The counter-based generator against N(0, 1): moments, tails and CDF within statistical bounds
// (5 standard errors, so a correct generator fails about once in 3 million runs), serial and
// cross-stream independence, bit balance, and determinism.
import { describe, expect, it } from 'vitest';
import {
  counterBits,
  fillNormals,
  noiseAxpyInto,
  noiseAxpyRange,
  streamKey,
  streamOf,
} from './counter-rng.js';

const N = 1 << 20;
const normalCdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));

// Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7), plenty for 5-sigma bounds at n = 1M.
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const y = 1 - poly * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

describe('counter-based normal noise', () => {
  const z = fillNormals(new Float32Array(N), 1234, streamOf('model.layers.0.mlp.up_proj.weight'));

  it('has mean 0 and variance 1 within 5 standard errors', () => {
    const mean = z.reduce((s, v) => s + v, 0) / N;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / N;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    const kurtosis = z.reduce((s, v) => s + v ** 4, 0) / N;
    expect(Math.abs(kurtosis - 3)).toBeLessThan(5 * Math.sqrt(96 / N));
  });

  it('matches the normal CDF and tails', () => {
    for (const x of [-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3]) {
      const p = normalCdf(x);
      const observed = z.reduce((c, v) => c + (v <= x ? 1 : 0), 0) / N;
      expect(Math.abs(observed - p), `P(z <= ${x})`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    }
    for (const x of [3, 4]) {
      const p = 2 * (1 - normalCdf(x));
      const observed = z.reduce((c, v) => c + (Math.abs(v) > x ? 1 : 0), 0) / N;
      expect(Math.abs(observed - p), `P(|z| > ${x})`).toBeLessThan(5 * Math.sqrt(p / N) + 1 / N);
    }
    for (const x of [5]) {
      // Expected 0.6 past 5σ in 1M draws: at most a handful.
      const beyond = z.reduce((c, v) => c + (Math.abs(v) > x ? 1 : 0), 0);
      expect(beyond).toBeLessThanOrEqual(8);
    }
    // 23-bit radius uniforms reach 5.77σ (u = 2^-24); nothing is infinite.
    expect(z.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeGreaterThan(4.5);
    expect(z.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThan(5.8);
    expect(z.every(Number.isFinite)).toBe(true);
  });

  it('is the float64 Box-Muller of the same uniforms within 1e-6 relative', () => {
    // The uniforms the float32 steps stand for: u = (2·(h1 >>> 9) + 1)·2^-24 for the radius and
    // θ = 2π·(2·(h2 >>> 8) + 1)·2^-25 for the angle.
    const key = streamKey(1234, streamOf('model.layers.0.mlp.up_proj.weight'));
    let worst = 0;
    for (let i = 0; i < N; i += 2) {
      const u = (2 * (counterBits(i, key) >>> 9) + 1) * 2 ** -24;
      const theta = 2 * Math.PI * (2 * (counterBits(i + 1, key) >>> 8) + 1) * 2 ** -25;
      const r = Math.sqrt(-2 * Math.log(u));
      const exact = [r * Math.cos(theta), r * Math.sin(theta)];
      for (const k of [0, 1]) {
        // (Relative, also where cos θ or sin θ is near 0: measured 2.7e-7 at worst.)
        worst = Math.max(worst, Math.abs(z[i + k]! - exact[k]!) / Math.abs(exact[k]!));
      }
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('has no serial correlation, and streams and seeds are independent', () => {
    const bound = 5 / Math.sqrt(N);
    for (const lag of [1, 2, 3, 64]) {
      let c = 0;
      for (let i = lag; i < N; i++) c += z[i]! * z[i - lag]!;
      expect(Math.abs(c / (N - lag)), `lag ${lag}`).toBeLessThan(bound);
    }
    const otherStream = fillNormals(new Float32Array(N), 1234, streamOf('model.norm.weight'));
    const otherSeed = fillNormals(
      new Float32Array(N),
      1235,
      streamOf('model.layers.0.mlp.up_proj.weight'),
    );
    for (const other of [otherStream, otherSeed]) {
      let c = 0;
      for (let i = 0; i < N; i++) c += z[i]! * other[i]!;
      expect(Math.abs(c / N)).toBeLessThan(bound);
    }
  });

  it('sets every bit of the hash half the time', () => {
    const key = streamKey(7, 3);
    const ones = new Array<number>(32).fill(0);
    for (let c = 0; c < N; c++) {
      const h = counterBits(c, key);
      for (let b = 0; b < 32; b++) ones[b]! += (h >>> b) & 1;
    }
    for (const count of ones)
      expect(Math.abs(count / N - 0.5)).toBeLessThan((5 * 0.5) / Math.sqrt(N));
  });

  it('is a pure function of (seed, stream, element)', () => {
    // (toEqual on 1M-element arrays is slow: compare as bytes.)
    const again = fillNormals(
      new Float32Array(N),
      1234,
      streamOf('model.layers.0.mlp.up_proj.weight'),
    );
    expect(Buffer.from(again.buffer).equals(Buffer.from(z.buffer))).toBe(true);
    // A shorter tensor is a prefix of a longer one: element i does not depend on the size.
    const prefix = fillNormals(
      new Float32Array(1001),
      1234,
      streamOf('model.layers.0.mlp.up_proj.weight'),
    );
    expect(prefix).toEqual(z.subarray(0, 1001));
  });

  it('computes a·x + b·T(z) with the same z, rounding each product and the sum to float32', () => {
    const F = Math.fround;
    const x = Float32Array.from({ length: 999 }, (_, i) => Math.sin(i));
    const out = new Float32Array(999);
    noiseAxpyInto(out, x, 0.3, -0.7, 1234, 9, 'none');
    const zs = fillNormals(new Float32Array(999), 1234, 9);
    for (let i = 0; i < 999; i++) expect(out[i]).toBe(F(F(F(0.3) * x[i]!) + F(F(-0.7) * zs[i]!)));
    noiseAxpyInto(out, undefined, 0, 2, 1234, 9, 'sign');
    for (let i = 0; i < 999; i++) expect(out[i]).toBe(2 * Math.sign(zs[i]!));
    noiseAxpyInto(out, x, 1, 0.1, 1234, 9, 'square');
    for (let i = 0; i < 999; i++) expect(out[i]).toBe(F(x[i]! + F(F(0.1) * F(zs[i]! ** 2))));
    // In place: x and out the same array.
    const y = x.slice();
    noiseAxpyInto(y, y, 0.3, -0.7, 1234, 9, 'none');
    noiseAxpyInto(out, x, 0.3, -0.7, 1234, 9, 'none');
    expect(y).toEqual(out);
  });

  it('gives the same values whichever ranges the elements are computed in', () => {
    const key = streamKey(1234, 9);
    const whole = new Float32Array(1001);
    noiseAxpyRange(whole, undefined, 0, 1, key, 'none', 0, 1001);
    const pieces = new Float32Array(1001);
    for (const [begin, end] of [
      [0, 2],
      [2, 500],
      [500, 1000],
      [1000, 1001],
    ] as const)
      noiseAxpyRange(pieces, undefined, 0, 1, key, 'none', begin, end);
    expect(pieces).toEqual(whole);
    expect(() => noiseAxpyRange(pieces, undefined, 0, 1, key, 'none', 1, 3)).toThrow(/pair/);
  });
});
