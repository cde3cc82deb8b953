// Rotary position embeddings (Llama family), in Hugging Face's "rotate half" layout: the two
// halves of each head are the real and imaginary parts. Supports the rope_scaling kinds that
// Llama 2/3, Mistral and Qwen2 checkpoints use.
import { WhetstoneError } from '../../errors.js';
import { tf, type Tensor2D, type Tensor4D } from '../../backend/tf.js';

export interface RopeScaling {
  type: 'linear' | 'dynamic' | 'llama3';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

export interface RopeConfig {
  headDim: number;
  theta: number;
  maxPositions: number;
  scaling?: RopeScaling;
}

/** Parse a config's `rope_scaling` (null, or {rope_type | type, factor, ...}). */
export function parseRopeScaling(raw: unknown, file: string): RopeScaling | undefined {
  if (raw === null || raw === undefined) return undefined;
  const r = raw as Record<string, unknown>;
  const type = (r.rope_type ?? r.type) as string | undefined;
  if (type === 'default') return undefined;
  if (type !== 'linear' && type !== 'dynamic' && type !== 'llama3') {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file}: rope_scaling type "${String(type)}" is not supported (supported: linear, dynamic, llama3).`,
    );
  }
  const factor = Number(r.factor);
  if (!(factor > 0)) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: rope_scaling.factor must be a positive number.`,
    );
  }
  return {
    type,
    factor,
    lowFreqFactor: r.low_freq_factor === undefined ? undefined : Number(r.low_freq_factor),
    highFreqFactor: r.high_freq_factor === undefined ? undefined : Number(r.high_freq_factor),
    originalMaxPositions:
      r.original_max_position_embeddings === undefined
        ? undefined
        : Number(r.original_max_position_embeddings),
  };
}

/** Inverse frequencies for `seqLen` positions (dynamic NTK scaling depends on the length). */
export function inverseFrequencies(cfg: RopeConfig, seqLen: number): Float32Array {
  const half = cfg.headDim / 2;
  let theta = cfg.theta;
  const s = cfg.scaling;
  if (s?.type === 'dynamic' && seqLen > cfg.maxPositions) {
    const ratio = (s.factor * seqLen) / cfg.maxPositions - (s.factor - 1);
    theta = theta * ratio ** (cfg.headDim / (cfg.headDim - 2));
  }
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / cfg.headDim);
  if (s?.type === 'linear') for (let i = 0; i < half; i++) inv[i]! /= s.factor;
  if (s?.type === 'llama3') applyLlama3Scaling(inv, s);
  return inv;
}

// Llama 3.1: long wavelengths are divided by the factor, short ones kept, the band between
// interpolated smoothly.
function applyLlama3Scaling(inv: Float32Array, s: RopeScaling): void {
  const low = s.lowFreqFactor ?? 1;
  const high = s.highFreqFactor ?? 4;
  const original = s.originalMaxPositions ?? 8192;
  const lowWavelen = original / low;
  const highWavelen = original / high;
  for (let i = 0; i < inv.length; i++) {
    const freq = inv[i]!;
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen > lowWavelen) inv[i] = freq / s.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (original / wavelen - low) / (high - low);
      inv[i] = (1 - smooth) * (freq / s.factor) + smooth * freq;
    }
  }
}

/** cos and sin tables for positions [offset, offset + length): each [length, headDim]. */
export function rotaryTables(
  cfg: RopeConfig,
  offset: number,
  length: number,
): { cos: Tensor2D; sin: Tensor2D } {
  const inv = inverseFrequencies(cfg, offset + length);
  const half = inv.length;
  const cos = new Float32Array(length * cfg.headDim);
  const sin = new Float32Array(length * cfg.headDim);
  for (let t = 0; t < length; t++) {
    const pos = offset + t;
    for (let i = 0; i < half; i++) {
      // Angles rounded to float32 first, as the reference computes them in float32.
      const angle = Math.fround(pos * inv[i]!);
      const c = Math.cos(angle);
      const sn = Math.sin(angle);
      cos[t * cfg.headDim + i] = c;
      cos[t * cfg.headDim + half + i] = c;
      sin[t * cfg.headDim + i] = sn;
      sin[t * cfg.headDim + half + i] = sn;
    }
  }
  return {
    cos: tf.tensor2d(cos, [length, cfg.headDim]),
    sin: tf.tensor2d(sin, [length, cfg.headDim]),
  };
}

/** The [D, D] matrix R with [x1, x2]·R = [−x2, x1] (rotate-half as a product). */
function rotateHalfMatrix(d: number): Tensor2D {
  const half = d / 2;
  const values = new Float32Array(d * d);
  for (let i = 0; i < half; i++) {
    values[(i + half) * d + i] = -1; // out[i] = −x[i + half]
    values[i * d + i + half] = 1; // out[i + half] = x[i]
  }
  return tf.tensor2d(values, [d, d]);
}

/**
 * Rotate q or k: x [B, H, T, D] with tables [T, D]. Rotate-half is a product with a ±1
 * permutation matrix rather than split + concat: exact (one nonzero term per output), and on the
 * wasm backend the split of the last axis was the slowest kernel of a training step.
 */
export function applyRotary(x: Tensor4D, cos: Tensor2D, sin: Tensor2D): Tensor4D {
  return tf.tidy(() => {
    const [b, h, t, d] = x.shape;
    const flat = tf.reshape(x, [b * h * t, d]);
    const rotated = tf.reshape(tf.matMul(flat, rotateHalfMatrix(d)), [b, h, t, d]); // [B, H, T, D]
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
  });
}
