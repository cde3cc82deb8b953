// Q4_K and Q6_K, following ggml's reference quantizers (quantize_row_q4_K_ref, _q6_K_ref):
// super-blocks of 256 values. Q4_K: 8 sub-blocks of 32 with a 6-bit scale and a 6-bit min each,
// fitted by weighted least squares (make_qkx2_quants); Q6_K: 16 sub-blocks of 16 with an int8
// scale each (make_qx_quants), 6-bit values split into low nibbles and high bit pairs.
import { halfValue, nearestInt, toHalf } from './quant-float.js';

const QK_K = 256;
const f = Math.fround;
const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/** Weighted affine fit of `n` values to 0..nmax: returns the scale, sets L and the (negated) min. */
function makeQkx2Quants(
  x: Float32Array,
  weights: Float32Array,
  nmax: number,
  L: Uint8Array,
  Laux: Uint8Array,
): { scale: number; min: number } {
  const n = x.length;
  const rmin = -1;
  const rdelta = 0.1;
  const nstep = 20;
  let min = x[0]!;
  let max = x[0]!;
  let sumW = weights[0]!;
  let sumX = f(sumW * x[0]!);
  for (let i = 1; i < n; i++) {
    min = Math.min(min, x[i]!);
    max = Math.max(max, x[i]!);
    sumW = f(sumW + weights[i]!);
    sumX = f(sumX + f(weights[i]! * x[i]!));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0);
    return { scale: 0, min: -min };
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestMad = 0;
  for (let i = 0; i < n; i++) {
    L[i] = clamp(nearestInt(f(iscale * f(x[i]! - min))), 0, nmax);
    const diff = f(f(scale * L[i]!) + min - x[i]!);
    bestMad = f(bestMad + f(weights[i]! * f(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(rmin + f(rdelta * is) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * f(x[i]! - min))), 0, nmax);
      Laux[i] = l;
      const w = weights[i]!;
      sumL = f(sumL + w * l);
      sumL2 = f(sumL2 + f(w * l * l));
      sumXL = f(sumXL + f(w * l * x[i]!));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let mad = 0;
      for (let i = 0; i < n; i++) {
        const diff = f(f(thisScale * Laux[i]!) + thisMin - x[i]!);
        mad = f(mad + f(weights[i]! * f(diff * diff)));
      }
      if (mad < bestMad) {
        L.set(Laux);
        bestMad = mad;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return { scale, min: -min };
}

/** Sub-block j's 6-bit scale and min from Q4_K's 12 packed bytes (get_scale_min_k4). */
export function scaleMinK4(j: number, q: Uint8Array, at: number): [number, number] {
  if (j < 4) return [q[at + j]! & 63, q[at + j + 4]! & 63];
  return [
    (q[at + j + 4]! & 0xf) | ((q[at + j - 4]! >> 6) << 4),
    (q[at + j + 4]! >> 4) | ((q[at + j]! >> 6) << 4),
  ];
}

export function quantizeQ4_K(x: Float32Array): Uint8Array {
  const blocks = x.length / QK_K;
  const out = new Uint8Array(blocks * 144);
  const view = new DataView(out.buffer);
  const L = new Uint8Array(QK_K);
  const Laux = new Uint8Array(32);
  const weights = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  for (let b = 0; b < blocks; b++) {
    const xb = x.subarray(b * QK_K, (b + 1) * QK_K);
    const at = b * 144;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xs = xb.subarray(32 * j, 32 * j + 32);
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(xs[l]! * xs[l]!));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(xs[l]!));
      const fit = makeQkx2Quants(xs, weights, 15, L.subarray(32 * j, 32 * j + 32), Laux);
      scales[j] = fit.scale;
      mins[j] = fit.min;
      maxScale = Math.max(maxScale, scales[j]!);
      maxMin = Math.max(maxMin, mins[j]!);
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    const sc = at + 4;
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f(invScale * scales[j]!)));
      const lm = Math.min(63, nearestInt(f(invMin * mins[j]!)));
      if (j < 4) {
        out[sc + j] = ls;
        out[sc + j + 4] = lm;
      } else {
        out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        out[sc + j - 4]! |= (ls >> 4) << 6;
        out[sc + j]! |= (lm >> 4) << 6;
      }
    }
    const d = toHalf(f(maxScale / 63));
    const dmin = toHalf(f(maxMin / 63));
    view.setUint16(at, d.bits, true);
    view.setUint16(at + 2, dmin.bits, true);
    for (let j = 0; j < 8; j++) {
      const [s, m] = scaleMinK4(j, out, sc);
      const dj = f(d.value * s);
      if (!dj) continue;
      const dm = f(dmin.value * m);
      for (let i = 0; i < 32; i++) {
        L[32 * j + i] = clamp(nearestInt(f(f(xb[32 * j + i]! + dm) / dj)), 0, 15);
      }
    }
    const qs = at + 16;
    for (let j = 0; j < QK_K; j += 64) {
      for (let l = 0; l < 32; l++) out[qs + j / 2 + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
  return out;
}

export function dequantizeQ4_K(bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(n);
  for (let b = 0; b < n / QK_K; b++) {
    const at = b * 144;
    const d = halfValue(view.getUint16(at, true));
    const dmin = halfValue(view.getUint16(at + 2, true));
    for (let j = 0; j < 8; j++) {
      const [s, m] = scaleMinK4(j, bytes, at + 4);
      // Sub-blocks 2k and 2k+1 share 32 bytes: low nibbles then high nibbles.
      const q = at + 16 + (j >> 1) * 32;
      for (let l = 0; l < 32; l++) {
        const nib = j & 1 ? bytes[q + l]! >> 4 : bytes[q + l]! & 0xf;
        y[b * QK_K + 32 * j + l] = d * s * nib - dmin * m;
      }
    }
  }
  return y;
}

/** Symmetric fit of `x` to -nmax..nmax-1 weighted by x² (make_qx_quants, rmse_type 1). */
function makeQxQuants(x: Float32Array, nmax: number, L: Uint8Array): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]!) > amax) {
      amax = Math.abs(x[i]!);
      max = x[i]!;
    }
  }
  if (amax < 1e-15) {
    L.fill(0);
    return 0;
  }
  const fit = (iscale: number) => {
    let sumLX = 0;
    let sumL2 = 0;
    for (let i = 0; i < x.length; i++) {
      const l = clamp(nearestInt(f(iscale * x[i]!)), -nmax, nmax - 1);
      const w = f(x[i]! * x[i]!);
      sumLX = f(sumLX + f(w * x[i]! * l));
      sumL2 = f(sumL2 + f(w * l * l));
    }
    return { sumLX, sumL2 };
  };
  const fill = (iscale: number) => {
    for (let i = 0; i < x.length; i++) {
      L[i] = nmax + clamp(nearestInt(f(iscale * x[i]!)), -nmax, nmax - 1);
    }
  };
  let iscale = f(-nmax / max);
  fill(iscale);
  const first = fit(iscale);
  let scale = first.sumL2 ? f(first.sumLX / first.sumL2) : 0;
  let best = f(scale * first.sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(0.1 * is)) / max);
    const { sumLX, sumL2 } = fit(iscale);
    if (sumL2 > 0 && f(sumLX * sumLX) > f(best * sumL2)) {
      fill(iscale);
      scale = f(sumLX / sumL2);
      best = f(scale * sumLX);
    }
  }
  return scale;
}

export function quantizeQ6_K(x: Float32Array): Uint8Array {
  const blocks = x.length / QK_K;
  const out = new Uint8Array(blocks * 210);
  const view = new DataView(out.buffer);
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  for (let b = 0; b < blocks; b++) {
    const xb = x.subarray(b * QK_K, (b + 1) * QK_K);
    const at = b * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(xb.subarray(16 * ib, 16 * ib + 16), 32, L.subarray(16 * ib));
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < 1e-15) continue; // an all-zero block: d = 0, everything 0
    const iscale = f(-128 / maxScale);
    const d = toHalf(f(1 / iscale));
    view.setUint16(at + 208, d.bits, true);
    for (let ib = 0; ib < 16; ib++) {
      view.setInt8(at + 192 + ib, Math.min(127, nearestInt(f(iscale * scales[ib]!))));
    }
    for (let j = 0; j < 16; j++) {
      const dj = f(d.value * view.getInt8(at + 192 + j));
      if (!dj) continue;
      for (let i = 0; i < 16; i++) {
        L[16 * j + i] = clamp(nearestInt(f(xb[16 * j + i]! / dj)), -32, 31) + 32;
      }
    }
    for (let j = 0; j < QK_K; j += 128) {
      const ql = at + j / 2;
      const qh = at + 128 + j / 4;
      for (let l = 0; l < 32; l++) {
        const [q1, q2, q3, q4] = [L[j + l]!, L[j + l + 32]!, L[j + l + 64]!, L[j + l + 96]!];
        out[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        out[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        out[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
  return out;
}

export function dequantizeQ6_K(bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(n);
  for (let b = 0; b < n / QK_K; b++) {
    const at = b * 210;
    const d = halfValue(view.getUint16(at + 208, true));
    for (let i = 0; i < QK_K; i++) {
      const half = i >> 7; // which 128-value half
      const r = i & 127;
      const l = r & 31;
      const quarter = r >> 5; // 0..3: q1..q4
      const ql = bytes[at + half * 64 + l + (quarter & 1) * 32]!;
      const low = quarter < 2 ? ql & 0xf : ql >> 4;
      const high = (bytes[at + 128 + half * 32 + l]! >> (2 * quarter)) & 3;
      const scale = view.getInt8(at + 192 + half * 8 + (l >> 4) + 2 * quarter);
      y[b * QK_K + i] = d * scale * ((low | (high << 4)) - 32);
    }
  }
  return y;
}
