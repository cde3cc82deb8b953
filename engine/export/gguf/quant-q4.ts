// Q4_0 and Q5_0 as ggml's quantize_row_q4_0_ref / q5_0_ref: blocks of 32, fp16 scale d = (the
// signed value of largest magnitude) / -8 (-16 for Q5_0), q = min(max, trunc(x/d + offset + 0.5)).
// Value j and j+16 share byte j (low and high nibble); Q5_0 keeps the fifth bits in a u32.
import { halfValue, toHalf } from './quant-float.js';

const QK = 32;

function signedMax(x: Float32Array, base: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = x[base + j]!;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  const out = new Uint8Array(blocks * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    const d = Math.fround(signedMax(x, base) / -8);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * 18, toHalf(d).bits, true);
    for (let j = 0; j < QK / 2; j++) {
      const q0 = Math.min(15, Math.trunc(Math.fround(x[base + j]! * id) + 8.5));
      const q1 = Math.min(15, Math.trunc(Math.fround(x[base + j + 16]! * id) + 8.5));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(n);
  for (let b = 0; b < n / QK; b++) {
    const d = halfValue(view.getUint16(b * 18, true));
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[b * 18 + 2 + j]!;
      y[b * QK + j] = ((q & 0xf) - 8) * d;
      y[b * QK + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return y;
}

export function quantizeQ5_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  const out = new Uint8Array(blocks * 22);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    const d = Math.fround(signedMax(x, base) / -16);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * 22, toHalf(d).bits, true);
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const q0 = Math.min(31, Math.trunc(Math.fround(x[base + j]! * id) + 16.5));
      const q1 = Math.min(31, Math.trunc(Math.fround(x[base + j + 16]! * id) + 16.5));
      out[b * 22 + 6 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    view.setUint32(b * 22 + 2, qh >>> 0, true);
  }
  return out;
}

export function dequantizeQ5_0(bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(n);
  for (let b = 0; b < n / QK; b++) {
    const d = halfValue(view.getUint16(b * 22, true));
    const qh = view.getUint32(b * 22 + 2, true);
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[b * 22 + 6 + j]!;
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      y[b * QK + j] = (((q & 0xf) | h0) - 16) * d;
      y[b * QK + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
  return y;
}
