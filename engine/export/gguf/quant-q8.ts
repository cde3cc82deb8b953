// Q8_0 as ggml's quantize_row_q8_0_ref: blocks of 32, fp16 scale d = max|x| / 127, int8 round(x/d).
import { halfValue, toHalf } from './quant-float.js';

const QK = 32;

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[base + j]!));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * 34, toHalf(d).bits, true);
    for (let j = 0; j < QK; j++) {
      // roundf: half away from zero.
      const v = Math.fround(x[base + j]! * id);
      view.setInt8(b * 34 + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

export function dequantizeQ8_0(bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(n);
  for (let b = 0; b < n / QK; b++) {
    const d = halfValue(view.getUint16(b * 34, true));
    for (let j = 0; j < QK; j++) y[b * QK + j] = d * view.getInt8(b * 34 + 2 + j);
  }
  return y;
}
