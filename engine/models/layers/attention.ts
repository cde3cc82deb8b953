// Causal multi-head attention with grouped-query heads. Query heads that share a key/value head
// are stacked along the time axis, so K and V are never repeated in memory.
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../../backend/tf.js';
import type { KVCache } from './kv-cache.js';

const MASKED = -1e9;

/** Additive causal mask [T, S] for queries at positions offset..offset+T over keys 0..S. */
export function causalMaskValues(
  queries: number,
  keys: number,
  offset: number,
  window?: number,
): Float32Array {
  const values = new Float32Array(queries * keys);
  for (let t = 0; t < queries; t++) {
    const pos = offset + t;
    const first = window === undefined ? 0 : Math.max(0, pos - window + 1);
    for (let j = 0; j < keys; j++) {
      values[t * keys + j] = j <= pos && j >= first ? 0 : MASKED;
    }
  }
  return values;
}

/** Small keyed store of constant tensors (masks, rotary tables) that outlive tidy scopes. */
export class ConstantCache {
  private readonly entries = new Map<string, Tensor[]>();
  constructor(private readonly limit = 16) {}

  get<T extends Tensor[]>(key: string, make: () => T): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit as T;
    const made = make();
    for (const t of made) tf.keep(t);
    if (this.entries.size >= this.limit) {
      const [oldest, tensors] = this.entries.entries().next().value!;
      tensors.forEach((t) => t.dispose());
      this.entries.delete(oldest);
    }
    this.entries.set(key, made);
    return made;
  }

  dispose(): void {
    for (const tensors of this.entries.values()) tensors.forEach((t) => t.dispose());
    this.entries.clear();
  }
}

export interface AttentionOptions {
  /** Multiplier applied to q before q·k (usually 1/sqrt(headDim)). */
  scale: number;
  /** Sliding window (Mistral); undefined attends to every earlier position. */
  window?: number;
  cache?: { store: KVCache; layer: number };
  constants: ConstantCache;
}

/**
 * q [B, H, T, D], k and v [B, KV, T, D] (H a multiple of KV) -> [B, T, H*D].
 * With a cache, k and v are appended at the cache's offset and attention spans the whole cache.
 */
export function causalAttention(
  q: Tensor4D,
  k: Tensor4D,
  v: Tensor4D,
  opts: AttentionOptions,
): Tensor3D {
  return tf.tidy(() => {
    const [b, heads, t, d] = q.shape;
    const kvHeads = k.shape[1];
    const rep = heads / kvHeads;
    const offset = opts.cache ? opts.cache.store.length : 0;
    let keys = k;
    let values = v;
    if (opts.cache) ({ k: keys, v: values } = opts.cache.store.write(opts.cache.layer, k, v));
    const s = keys.shape[2];
    const [mask] = opts.constants.get<[Tensor2D]>(
      `mask:${t}:${s}:${offset}:${opts.window ?? ''}`,
      () => [tf.tensor2d(causalMaskValues(t, s, offset, opts.window), [t, s])],
    );

    const qGrouped = tf.reshape(tf.mul(q, opts.scale), [b, kvHeads, rep * t, d]);
    let scores: Tensor = tf.matMul(qGrouped, keys, false, true); // [B, KV, rep*T, S]
    scores =
      rep === 1
        ? tf.add(scores, mask)
        : tf.reshape(tf.add(tf.reshape(scores, [b, kvHeads, rep, t, s]), mask), [
            b,
            kvHeads,
            rep * t,
            s,
          ]);
    const probs = tf.softmax(scores as Tensor4D); // [B, KV, rep*T, S]
    const out = tf.matMul(probs, values); // [B, KV, rep*T, D]
    const merged = tf.transpose(tf.reshape(out, [b, heads, t, d]), [0, 2, 1, 3]); // [B, T, H, D]
    return tf.reshape(merged, [b, t, heads * d]);
  });
}

/** [B, T, H*D] -> [B, H, T, D] */
export function splitHeads(x: Tensor3D, heads: number): Tensor4D {
  const [b, t, c] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, heads, c / heads]), [0, 2, 1, 3]);
}
