// Key/value cache for incremental decoding. Tensors are allocated once at full capacity
// [B, KV, capacity, D] and rewritten at the same size each step: the webgpu backend pools
// buffers by size, so static shapes keep device memory flat during generation.
import { WhetstoneError } from '../../errors.js';
import { tf, type Tensor4D } from '../../backend/tf.js';

interface LayerEntry {
  k: Tensor4D;
  v: Tensor4D;
}

export class KVCache {
  private readonly layers: (LayerEntry | undefined)[];
  /** Positions already written (the offset of the next token). */
  length = 0;

  constructor(
    numLayers: number,
    readonly capacity: number,
  ) {
    this.layers = new Array<LayerEntry | undefined>(numLayers).fill(undefined);
  }

  /**
   * Write this step's keys and values (k, v [B, KV, T, D]) at positions [length, length + T) of
   * layer `layer` and return the whole cache of that layer ([B, KV, capacity, D] each).
   */
  write(layer: number, k: Tensor4D, v: Tensor4D): LayerEntry {
    const [b, kvHeads, t, d] = k.shape;
    const start = this.length;
    if (start + t > this.capacity) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `The KV cache holds ${this.capacity} positions; ${start + t} are needed.`,
        'Generate fewer tokens or use a shorter prompt.',
      );
    }
    const old = this.layers[layer];
    const place = (prev: Tensor4D | undefined, now: Tensor4D): Tensor4D => {
      const rest = this.capacity - start - t;
      const parts: Tensor4D[] = [];
      if (start > 0) parts.push(tf.slice(prev!, [0, 0, 0, 0], [b, kvHeads, start, d]));
      parts.push(now);
      if (rest > 0) {
        parts.push(
          prev === undefined
            ? tf.zeros([b, kvHeads, rest, d])
            : tf.slice(prev, [0, 0, start + t, 0], [b, kvHeads, rest, d]),
        );
      }
      return tf.keep(parts.length === 1 ? tf.clone(now) : tf.concat(parts, 2));
    };
    const next = { k: place(old?.k, k), v: place(old?.v, v) };
    old?.k.dispose();
    old?.v.dispose();
    this.layers[layer] = next;
    return next;
  }

  dispose(): void {
    for (const entry of this.layers) {
      entry?.k.dispose();
      entry?.v.dispose();
    }
    this.layers.fill(undefined);
    this.length = 0;
  }
}
