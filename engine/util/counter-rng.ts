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

/** The top 24 bits as a float32-exact uniform in (0, 1): never 0, so log stays finite. */
export function unitFromBits(h: number): number {
  return ((h >>> 8) + 0.5) * 2 ** -24;
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
 * out = a·x + b·T(z) element-wise, by Box-Muller over element pairs: elements 2j and 2j+1 share
 * the uniforms from counters 2j and 2j+1 and take r·cos θ and r·sin θ, θ in (−π, π) (where
 * WGSL's cos and sin are accurate). z is rounded to float32,
 * the rest computed in double and rounded once. `x` undefined means a·x = 0. `out` may alias `x`.
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
  const key = streamKey(seed, stream);
  const n = out.length;
  const put = (i: number, z: number) => {
    const zf = Math.fround(z);
    const t = transform === 'sign' ? Math.sign(zf) : transform === 'square' ? zf * zf : zf;
    out[i] = (x === undefined ? 0 : a * x[i]!) + b * t;
  };
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(unitFromBits(counterBits(i, key))));
    const theta = 2 * Math.PI * unitFromBits(counterBits(i + 1, key)) - Math.PI;
    put(i, r * Math.cos(theta));
    if (i + 1 < n) put(i + 1, r * Math.sin(theta));
  }
}
