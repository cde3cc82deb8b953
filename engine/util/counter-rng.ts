// Counter-based normal noise: element i of stream `stream` under `seed` is a pure function of
// (seed, stream, i), so zeroth-order methods regenerate a perturbation instead of storing it.
// This file is the reference; the cpu/wasm kernels call it and the webgpu shader and the
// composite-op fallback (engine/backend/noise-kernels.ts) mirror it operation for operation.
//
// The mixing function is "lowbias32" from Chris Wellons' hash-prospector (xorshift-multiply with
// searched constants); two rounds per counter pass the mean, variance, bit-bias and serial
// correlation checks in counter-rng.test.ts (one add-shift variant without xor did not).

/** One xorshift-multiply mixing round (mod 2^32). */
export function mix32(v: number): number {
  let x = v >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, MIX_A) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, MIX_B) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
export const MIX_A = 0x7feb352d;
export const MIX_B = 0x846ca68b;

/** The per-(seed, stream) key that every element's hash is offset by. */
export function streamKey(seed: number, stream: number): number {
  return mix32((mix32((seed >>> 0) + 0x9e3779b9) + (stream >>> 0)) >>> 0);
}

/** 32 random bits for counter `c` under `key`: two mixing rounds. */
export function counterBits(c: number, key: number): number {
  return mix32((mix32((c + key) >>> 0) + key) >>> 0);
}

/** A stable 32-bit stream id for a tensor name (FNV-1a), so noise follows the name, not order. */
export function streamOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** Fill `out` with N(0, 1) noise: noiseAxpyInto with a = 0, b = 1. */
export function fillNormals(out: Float32Array, seed: number, stream: number): Float32Array {
  noiseAxpyInto(out, undefined, 0, 1, seed, stream, 'none');
  return out;
}

/**
 * How noise enters an update: as drawn, only its sign (ZO-SGD-Sign's element-wise form), or
 * squared (ZO-Adam's second moment).
 */
export type NoiseTransform = 'none' | 'sign' | 'square';

/**
 * out = a·x + b·T(z) element-wise over the whole of `out` (see noiseAxpyRange). `x` undefined
 * means a·x = 0. `out` may alias `x`.
 */
export function noiseAxpyInto(
  out: Float32Array,
  x: Float32Array | undefined,
  a: number,
  b: number,
  seed: number,
  stream: number,
  transform: NoiseTransform,
): void {
  noiseAxpyRange(out, x, a, b, streamKey(seed, stream), transform, 0, out.length);
}

const F = Math.fround;
// The constants of the float32 Box-Muller, written as the decimals that round to them (native/
// and noise-simd.wat spell them the same; the composite and the WGSL shader read them from here). LOG_k = 2/(2k+1): ln m = 2·atanh(s) = Σ LOG_k·s^(2k+1).
const LOG_0 = 2;
const LOG_1 = F(0.666666687);
const LOG_2 = F(0.400000006);
const LOG_3 = F(0.285714298);
const LOG_4 = F(0.222222224);
const LN2 = F(0.693147182);
/** fround(√2), bits 0x3fb504f3: mantissas at or above it are halved, so m ∈ [√½, √2). */
const SQRT2 = F(1.41421354);
// SIN_k = (−1)^k (π/4)^(2k+1)/(2k+1)! and COS_k = (−1)^k (π/4)^(2k)/(2k)!: Taylor series of
// sin(πt/4) and cos(πt/4) in t ∈ (0, 1), truncated past 1e-9 and 3e-10.
const SIN_0 = F(0.785398185);
const SIN_1 = F(-0.0807455108);
const SIN_2 = F(0.00249039452);
const SIN_3 = F(-0.0000365762025);
const SIN_4 = F(3.13361681e-7);
const COS_1 = F(-0.308425128);
const COS_2 = F(0.0158543438);
const COS_3 = F(-0.000325991889);
const COS_4 = F(0.00000359086039);
const COS_5 = F(-2.46113689e-8);
/** 2^-p for p = ⌊log2 v⌋: scales an integer v < 2^24 into [1, 2) exactly. */
const INV_POW2 = Float64Array.from({ length: 32 }, (_, p) => 2 ** -p);
// Tables for the loop's branch-free selects (see there).
const HALVE = new Float64Array([1, 0.5]);
const SIGN = new Float64Array([1, -1]);
const COS_SIN = new Float64Array(2);

/** The float32 noise constants, for the kernels that mirror this file in tfjs ops and WGSL. */
export const NOISE_CONSTANTS = {
  ...{ LOG_0, LOG_1, LOG_2, LOG_3, LOG_4, LN2, SQRT2 },
  ...{ SIN_0, SIN_1, SIN_2, SIN_3, SIN_4, COS_1, COS_2, COS_3, COS_4, COS_5 },
};

/**
 * The reference noise: out[i] = a·x[i] + b·T(z_i) for i in [begin, end) (begin even), with `key`
 * = streamKey(seed, stream). Every step after the hash is a float32 operation (each rounded by
 * Math.fround), so a float32 kernel without FMA contraction (C++ -ffp-contract=off, wasm SIMD)
 * reproduces it bit for bit. Elements 2j and 2j+1 are a Box-Muller pair over the hashes
 * h1 = counterBits(2j, key) and h2 = counterBits(2j+1, key):
 * - u = (2·(h1 >>> 9) + 1)·2^-24 ∈ (0, 1), exact in float32 (23 bits, odd numerator);
 *   u = m·2^e exactly with m ∈ [√½, √2); s = (m − 1)/(m + 1), ln m = s·P(s²) (degree 4 in s²);
 *   r = √(−2·(e·ln2 + ln m)).
 * - θ = 2π·(2·(h2 >>> 8) + 1)·2^-25: octant o = h2 >>> 29 and, within it, t ∈ (0, 1) from the
 *   next 21 bits, mirrored (t → 1 − t) in odd octants; sin(πt/4) = t·S(t²), cos(πt/4) = C(t²)
 *   (degrees 4 and 5 in t²), then swapped and negated by octant. No large-argument reduction,
 *   and near a zero of cos θ or sin θ the small value comes from t·S(t²), accurate relatively.
 * - z_2j = r·cos θ, z_2j+1 = r·sin θ; |z − exact Box-Muller z| < 1e-6·|z| (counter-rng.test.ts).
 * - T(z) = z, sign(z) or z·z; out = fround(fround(a_f·x) + fround(b_f·T(z))), a_f = fround(a),
 *   b_f = fround(b); without x, out = fround(b_f·T(z)).
 */
export function noiseAxpyRange(
  out: Float32Array,
  x: Float32Array | undefined,
  a: number,
  b: number,
  key: number,
  transform: NoiseTransform,
  begin: number,
  end: number,
): void {
  if (begin % 2 !== 0) throw new Error(`noiseAxpyRange starts at a pair, got ${begin}`);
  const af = F(a);
  const bf = F(b);
  const sign = transform === 'sign';
  const square = transform === 'square';
  for (let i = begin; i < end; i += 2) {
    const h1 = counterBits(i, key);
    const h2 = counterBits(i + 1, key);

    // Radius: split u into m·2^e through the integer's leading bit (exact, like reading the
    // float's exponent field), then the atanh series of ln m.
    const v = 2 * (h1 >>> 9) + 1; // u·2^24, odd, < 2^24
    const p = 31 - Math.clz32(v);
    const high = +(v * INV_POW2[p]! >= SQRT2); // halve m ∈ [1, 2) at √2
    const m = v * INV_POW2[p]! * HALVE[high]!;
    const e = p - 24 + high;
    const s = F(F(m - 1) / F(m + 1));
    const s2 = F(s * s);
    const lnm = F(
      s * F(LOG_0 + F(s2 * F(LOG_1 + F(s2 * F(LOG_2 + F(s2 * F(LOG_3 + F(s2 * LOG_4)))))))),
    );
    const r = F(Math.sqrt(F(-2 * F(F(e * LN2) + lnm))));

    // Angle: octant and mirrored fraction, then the two series.
    const o = h2 >>> 29;
    const w = (h2 >>> 8) & 0x1fffff;
    const t = (2 * (w ^ (0x1fffff & -(o & 1))) + 1) * 2 ** -22; // exact; 0x1fffff − w if o is odd
    const t2 = F(t * t);
    const sn = F(
      t * F(SIN_0 + F(t2 * F(SIN_1 + F(t2 * F(SIN_2 + F(t2 * F(SIN_3 + F(t2 * SIN_4)))))))),
    );
    const cs = F(
      1 + F(t2 * F(COS_1 + F(t2 * F(COS_2 + F(t2 * F(COS_3 + F(t2 * F(COS_4 + F(t2 * COS_5))))))))),
    );
    // Selects through tables, not branches: the octant's bits are random, so branches would
    // mispredict half the time (a fifth of the loop's time). ×(−1) is exact, as a negation.
    const swap = ((o + 1) >> 1) & 1; // octants 1, 2, 5, 6
    COS_SIN[0] = cs;
    COS_SIN[1] = sn;
    const cosTheta = COS_SIN[swap]! * SIGN[((o + 2) >> 2) & 1]!; // negative in 2..5
    const sinTheta = COS_SIN[swap ^ 1]! * SIGN[(o >> 2) & 1]!; // negative in 4..7

    let z0 = F(r * cosTheta);
    let z1 = F(r * sinTheta);
    if (sign) {
      z0 = z0 > 0 ? 1 : -1;
      z1 = z1 > 0 ? 1 : -1;
    } else if (square) {
      z0 = F(z0 * z0);
      z1 = F(z1 * z1);
    }
    const last = i + 1 >= end; // an odd end: the pair's second element is not ours
    if (x === undefined) {
      out[i] = F(bf * z0);
      if (!last) out[i + 1] = F(bf * z1);
    } else {
      out[i] = F(af * x[i]!) + F(bf * z0);
      if (!last) out[i + 1] = F(af * x[i + 1]!) + F(bf * z1);
    }
  }
}
