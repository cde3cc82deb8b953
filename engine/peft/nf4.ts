// NF4 with double quantization, in bitsandbytes' layout
// (docs/methods.md#qlora-nf4-with-double-quantization): 4-bit codes per block of 64, two per byte
// with the first element in the high nibble, and the blocks' absmax scales themselves quantized
// (mean-subtracted, 8-bit dynamic map, blocks of 256).
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Tensor1D } from '../backend/tf.js';

/** The 16 NF4 code values of bitsandbytes (`functional.py`), in index order. */
export const NF4_CODE = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
]);

export const NF4_BLOCK = 64;
export const ABSMAX_BLOCK = 256;

/**
 * bitsandbytes' signed 8-bit dynamic map (`create_dynamic_map(signed=True)`): for each decimal
 * exponent 10^(i-6), i = 0..6, the midpoints of 2^i + 1 points linspace(0.1, 1), both signs,
 * then 0 and 1; sorted. Computed in float32 as torch does.
 */
export const DYNAMIC_CODE: Float32Array = (() => {
  const data: number[] = [];
  for (let i = 0; i < 7; i++) {
    const n = 2 ** i + 1;
    const step = Math.fround(0.9 / (n - 1));
    const bounds = Array.from({ length: n }, (_, k) =>
      k === n - 1 ? 1 : Math.fround(0.1 + k * step),
    );
    const scale = 10 ** (i - 6);
    for (let k = 0; k < n - 1; k++) {
      const mean = Math.fround((bounds[k]! + bounds[k + 1]!) / 2);
      data.push(Math.fround(scale * mean), Math.fround(-scale * mean));
    }
  }
  data.push(0, 1);
  return Float32Array.from(data.sort((a, b) => a - b));
})();

/** Index of the code value nearest to x (ties to the lower index, as bnb's `>` comparisons do). */
export function nearestCode(code: Float32Array, x: number): number {
  let lo = 0;
  let hi = code.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x > code[mid]!) lo = mid;
    else hi = mid;
  }
  const midpoint = (code[lo]! + code[hi]!) / 2;
  return x > midpoint ? hi : lo;
}

/** A weight in NF4 with double-quantized scales, as host arrays. */
export interface Nf4Weight {
  shape: number[];
  numel: number;
  /** ceil(numel / 2) bytes: element 2k in the high nibble of byte k, 2k+1 in the low one. */
  codes: Uint8Array;
  /** One 8-bit dynamic-map index per 64-block: its absmax, mean-subtracted. */
  absmaxCodes: Uint8Array;
  /** One float32 scale per 256 absmax values. */
  absmaxScales: Float32Array;
  /** The mean subtracted from the absmax values. */
  absmaxOffset: number;
}

/** Quantize float32 `values` of `shape` (bitsandbytes `quantize_4bit(nf4, 64, compress_statistics)`). */
export function quantizeNf4(values: Float32Array, shape: number[]): Nf4Weight {
  const numel = values.length;
  const blocks = Math.ceil(numel / NF4_BLOCK);
  const absmax = new Float32Array(blocks);
  const codes = new Uint8Array(Math.ceil(numel / 2));
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(numel, (b + 1) * NF4_BLOCK);
    let m = 0;
    for (let i = b * NF4_BLOCK; i < end; i++) m = Math.max(m, Math.abs(values[i]!));
    absmax[b] = m;
    const inv = m === 0 ? 0 : Math.fround(1 / m); // bnb multiplies by 1/absmax
    for (let i = b * NF4_BLOCK; i < end; i++) {
      const q = nearestCode(NF4_CODE, Math.fround(values[i]! * inv));
      codes[i >> 1]! |= i % 2 === 0 ? q << 4 : q;
    }
  }
  let sum = 0;
  for (const a of absmax) sum += a;
  const absmaxOffset = Math.fround(sum / blocks);
  const groups = Math.ceil(blocks / ABSMAX_BLOCK);
  const absmaxScales = new Float32Array(groups);
  const absmaxCodes = new Uint8Array(blocks);
  for (let g = 0; g < groups; g++) {
    const end = Math.min(blocks, (g + 1) * ABSMAX_BLOCK);
    let m = 0;
    for (let b = g * ABSMAX_BLOCK; b < end; b++)
      m = Math.max(m, Math.abs(Math.fround(absmax[b]! - absmaxOffset)));
    absmaxScales[g] = m;
    const inv = m === 0 ? 0 : Math.fround(1 / m);
    for (let b = g * ABSMAX_BLOCK; b < end; b++) {
      absmaxCodes[b] = nearestCode(
        DYNAMIC_CODE,
        Math.fround(Math.fround(absmax[b]! - absmaxOffset) * inv),
      );
    }
  }
  return { shape, numel, codes, absmaxCodes, absmaxScales, absmaxOffset };
}

/** The absmax of every 64-block as the dequantizer sees it. */
export function blockScales(w: Nf4Weight): Float32Array {
  return Float32Array.from(w.absmaxCodes, (q, b) =>
    Math.fround(
      Math.fround(DYNAMIC_CODE[q]! * w.absmaxScales[Math.floor(b / ABSMAX_BLOCK)]!) +
        w.absmaxOffset,
    ),
  );
}

/** Host dequantization: W[i] = code[idx_i] · absmax[block(i)] (the oracle for the device path). */
export function dequantizeNf4(w: Nf4Weight): Float32Array {
  const scales = blockScales(w);
  const out = new Float32Array(w.numel);
  for (let i = 0; i < w.numel; i++) {
    const byte = w.codes[i >> 1]!;
    const q = i % 2 === 0 ? byte >> 4 : byte & 15;
    out[i] = Math.fround(NF4_CODE[q]! * scales[Math.floor(i / NF4_BLOCK)]!);
  }
  return out;
}

/** Bytes packed little-endian into int32s (zero-padded): the int32 tensor's memory is the bytes. */
export function packBytes(bytes: Uint8Array): Int32Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return new Int32Array(padded.buffer);
}

/** The device tensors of one quantized weight: what QLoRA keeps instead of the float32 weight. */
export interface Nf4Tensors {
  /** int32 [ceil(numel/8)]: the code bytes. */
  codes: Tensor1D;
  /** int32 [ceil(blocks/4)]: the absmax code bytes. */
  absmaxCodes: Tensor1D;
  /** float32 [groups + 1]: the 256-block scales, then the offset. */
  absmaxScales: Tensor1D;
}

export function nf4Tensors(w: Nf4Weight): Nf4Tensors {
  const scales = new Float32Array(w.absmaxScales.length + 1);
  scales.set(w.absmaxScales);
  scales[w.absmaxScales.length] = w.absmaxOffset;
  return {
    codes: tf.tensor1d(packBytes(w.codes), 'int32'),
    absmaxCodes: tf.tensor1d(packBytes(w.absmaxCodes), 'int32'),
    absmaxScales: tf.tensor1d(scales, 'float32'),
  };
}

// Nibble shifts for the 8 elements of one int32 (little-endian bytes, high nibble first).
const NIBBLE_SHIFTS = [4, 0, 12, 8, 20, 16, 28, 24];
const BYTE_SHIFTS = [0, 8, 16, 24];

const int = (v: number) => tf.scalar(v, 'int32');

/**
 * int32 [n] -> int32 [n * shifts.length] of (x >> s) & mask. Backends may do int32 division in
 * float32, which is inexact past 2^24; masking first leaves at most 8 significant bits, which
 * float32 holds exactly, so the division and the sign of bit 31 come out right everywhere.
 */
function unpack(x: Tensor, shifts: number[], mask: number, count: number): Tensor {
  requireBitwiseAnd();
  // One shift at a time, each in its own scope: the peak stays near two unpacked copies.
  const parts = shifts.map((s) =>
    tf.tidy(() =>
      tf.mod(
        tf.floorDiv(tf.bitwiseAnd(x, tf.fill(x.shape, (mask << s) | 0, 'int32')), int(2 ** s)),
        int(mask + 1),
      ),
    ),
  );
  const all = tf.tidy(() => {
    const flat = tf.reshape(tf.stack(parts, 1), [-1]); // [n, k] -> [n*k]
    return flat.shape[0] === count ? flat : tf.slice(flat, 0, count);
  });
  tf.dispose(parts);
  return all;
}

function requireBitwiseAnd(): void {
  const backend = tf.getBackend();
  if (tf.getKernel('BitwiseAnd', backend) === undefined) {
    throw new WhetstoneError(
      'BACKEND_UNAVAILABLE',
      `The ${backend} backend has neither the NF4 dequantize kernel nor BitwiseAnd, which unpacking NF4 weights needs.`,
      'Run QLoRA with --backend webgpu, wasm or cpu, or use --peft lora.',
    );
  }
}

/**
 * Device dequantization from stock ops, for backends without the fused kernel (nf4-kernel.ts):
 * tensorflow, whose BitwiseAnd tensorflow-kernels.ts adds. Float32 [...shape].
 */
export function dequantizeNf4Tensor(t: Nf4Tensors, shape: number[]): Tensor {
  const numel = shape.reduce((a, b) => a * b, 1);
  const blocks = Math.ceil(numel / NF4_BLOCK);
  const groups = t.absmaxScales.shape[0] - 1;
  const absmax = tf.tidy(() => {
    const absCodes = unpack(t.absmaxCodes, BYTE_SHIFTS, 255, blocks); // [blocks]
    const groupScale = tf.slice(t.absmaxScales, 0, groups);
    const offset = tf.slice(t.absmaxScales, groups, 1);
    const group = tf.floorDiv(tf.range(0, blocks, 1, 'int32'), int(ABSMAX_BLOCK));
    const scaled = tf.mul(
      tf.gather(tf.tensor1d(DYNAMIC_CODE), absCodes),
      tf.gather(groupScale, group),
    );
    return tf.reshape(tf.add(scaled, offset), [blocks, 1]); // [blocks, 1]
  });
  // Codes, then their values, then the weight: each step frees the one before it.
  const idx = unpack(t.codes, NIBBLE_SHIFTS, 15, numel); // [numel] int32
  const values = tf.tidy(() => {
    const v = tf.gather(tf.tensor1d(NF4_CODE), idx);
    const padded = blocks * NF4_BLOCK - numel;
    return tf.reshape(padded > 0 ? tf.pad(v, [[0, padded]]) : v, [blocks, NF4_BLOCK]);
  });
  idx.dispose();
  const w = tf.tidy(() => {
    const full = tf.reshape(tf.mul(values, absmax), [-1]); // [blocks*64]
    return tf.reshape(full.shape[0] === numel ? full : tf.slice(full, 0, numel), shape);
  });
  tf.dispose([values, absmax]);
  return w;
}

/** Stored bytes of a quantized weight of `numel` elements (int32 padding included). */
export function nf4Bytes(numel: number): number {
  const blocks = Math.ceil(numel / NF4_BLOCK);
  return (
    Math.ceil(Math.ceil(numel / 2) / 4) * 4 +
    Math.ceil(blocks / 4) * 4 +
    (Math.ceil(blocks / ABSMAX_BLOCK) + 1) * 4
  );
}
