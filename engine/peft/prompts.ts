// Prompt learning as PEFT stores it: one trainable tensor `prompt_embeddings`.
//  - Prompt tuning: [n, E] input embeddings before every sequence's tokens. They take positions
//    0..n−1 (learned-position models add those rows) and run through every block with the text.
//  - Prefix tuning (prefix_projection false): [n, L·2·KV·D], viewed as [n, L·2, KV, D] — for
//    layer l its keys at 2l and values at 2l+1, KV heads as PEFT sets num_attention_heads for
//    grouped-query models. They are past keys/values: Llama's are taken as already rotated.
// Real tokens continue at position n in both, as transformers does after past_key_values.
import { tf, type Rank, type Tensor2D, type Tensor3D, type Tensor4D } from '../backend/tf.js';
import type { CausalLM, ModelPart, VirtualPrefix } from '../models/causal-lm.js';
import type { ModelConfig } from '../models/config.js';
import { KVCache } from '../models/layers/kv-cache.js';
import { initSeed } from './config.js';
import type { LinearSpec } from '../models/layers/linear.js';

export const PROMPT_EMBEDDINGS = 'prompt_embeddings';
export const isPromptParam = (name: string) => name === PROMPT_EMBEDDINGS;

import type { PromptKind } from '../../common/methods.js';

export { isPromptKind, type PromptKind } from '../../common/methods.js';
export { VIRTUAL_TOKEN_DEFAULTS } from '../../common/defaults.js';

export interface PromptOptions {
  virtualTokens: number;
  /** Initialise from this text instead of N(0, 1) (PEFT's RANDOM: nn.Embedding's init). */
  initText?: string;
}

/** Width of one layer's keys (or values): KV heads × head size. */
export const kvWidth = (c: ModelConfig) => c.kvHeads * c.headDim;

/** The shape of `prompt_embeddings`: [n, E] (E the token embedding's width) or [n, L·2·KV·D]. */
export function promptShape(
  kind: PromptKind,
  config: ModelConfig,
  embedWidth: number,
  n: number,
): [number, number] {
  return kind === 'prompt' ? [n, embedWidth] : [n, config.layers * 2 * kvWidth(config)];
}

/** `ids` repeated and cut to n, as PEFT's TEXT initialisation does. */
export function initTokenIds(ids: number[], n: number): number[] {
  const reps = Math.ceil(n / ids.length);
  return Array.from({ length: reps }, () => ids)
    .flat()
    .slice(0, n);
}

/** Layer l's keys and values [1, KV, n, D] from the prefix tensor [n, L·2·KV·D]. */
function prefixLayers(config: ModelConfig, prefix: Tensor2D): Tensor4D[] {
  const n = prefix.shape[0];
  const viewed = tf.reshape(prefix, [n, config.layers * 2, config.kvHeads, config.headDim]);
  const byLayer = tf.transpose(viewed, [1, 2, 0, 3]); // [L·2, KV, n, D]
  return tf.split<Tensor4D>(byLayer, config.layers * 2, 0);
}

/** The inverse: keys and values [1, KV, n, D] per layer packed into [n, L·2·KV·D]. */
function packPrefix(layers: { k: Tensor4D; v: Tensor4D }[]): Tensor2D {
  return tf.tidy(() => {
    const rows = layers.flatMap(({ k, v }) =>
      [k, v].map((t) => {
        const [, kv, n, d] = t.shape;
        return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [n, kv * d]); // [n, KV·D]
      }),
    );
    return tf.concat(rows, 1) as Tensor2D;
  });
}

/** A training forward's cache: the prefix before this forward's keys and values, no capacity. */
class PrefixStore extends KVCache {
  constructor(
    private readonly prefixes: Tensor4D[],
    readonly batch: number,
  ) {
    const n = prefixes[0]!.shape[2];
    super(prefixes.length / 2, n);
    this.length = n;
  }

  override write(layer: number, k: Tensor4D, v: Tensor4D): { k: Tensor4D; v: Tensor4D } {
    const joined = (prefix: Tensor4D, now: Tensor4D) => {
      const [, kv, n, d] = prefix.shape;
      return tf.concat([tf.broadcastTo<Rank.R4>(prefix, [this.batch, kv, n, d]), now], 2);
    };
    return {
      k: joined(this.prefixes[2 * layer]!, k),
      v: joined(this.prefixes[2 * layer + 1]!, v),
    };
  }

  override dispose(): void {}
}

/** Keys and values of `vectors` (hidden states at position 0 on) run through the model's blocks. */
function runVirtual(model: CausalLM, h0: Tensor3D, cache: KVCache): void {
  tf.tidy(() => {
    let h = h0;
    for (let i = 0; i < model.config.layers; i++) h = model.block(i, h, cache);
  });
  cache.length += h0.shape[1];
}

class PromptPrefix implements VirtualPrefix {
  constructor(
    private readonly kind: PromptKind,
    private readonly base: CausalLM,
    readonly length: number,
  ) {}

  private tensor(): Tensor2D {
    return this.base.params.get(PROMPT_EMBEDDINGS) as Tensor2D;
  }

  forward(ids: Tensor2D): Tensor3D {
    const model = this.base;
    const n = this.length;
    return tf.tidy(() => {
      const [b, t] = ids.shape;
      // Encoders: the real tokens' padding mask; the virtual tokens before them are always seen.
      const keys = model.keyMask?.(ids);
      if (this.kind === 'prefix') {
        const store = new PrefixStore(prefixLayers(model.config, this.tensor()), b);
        let h = model.embed(ids, n);
        for (let i = 0; i < model.config.layers; i++) h = model.block(i, h, store, keys);
        return model.head(h);
      }
      // Prompt tuning: the virtual tokens join the sequence; only the real tokens reach the head.
      const virtual = model.embedVectors(tf.expandDims(this.tensor(), 0), 0); // [1, n, C]
      const c = virtual.shape[2];
      let h = tf.concat([tf.broadcastTo<Rank.R3>(virtual, [b, n, c]), model.embed(ids, n)], 1);
      for (let i = 0; i < model.config.layers; i++) h = model.block(i, h, undefined, keys);
      return model.head(tf.slice(h, [0, n, 0], [b, t, c]));
    });
  }

  fill(cache: KVCache): void {
    if (this.kind === 'prefix') {
      tf.tidy(() => {
        const layers = prefixLayers(this.base.config, this.tensor());
        for (let l = 0; l < this.base.config.layers; l++)
          cache.write(l, layers[2 * l]!, layers[2 * l + 1]!);
      });
      cache.length += this.length;
      return;
    }
    const h = tf.tidy(() => this.base.embedVectors(tf.expandDims(this.tensor(), 0), 0));
    runVirtual(this.base, h, cache);
    h.dispose();
  }
}

/** A model whose every sequence continues from its virtual tokens; everything else delegates. */
class PromptTunedModel implements CausalLM {
  readonly config: ModelConfig;
  readonly prefix: PromptPrefix;

  constructor(
    private readonly base: CausalLM,
    kind: PromptKind,
    n: number,
  ) {
    // The virtual tokens use n of the model's positions.
    this.config = { ...base.config, contextLength: base.config.contextLength - n };
    this.prefix = new PromptPrefix(kind, base, n);
  }

  get params() {
    return this.base.params;
  }
  embed(ids: Tensor2D, offset?: number): Tensor3D {
    return this.base.embed(ids, offset);
  }
  tokenEmbeddings(ids: Tensor2D): Tensor3D {
    return this.base.tokenEmbeddings(ids);
  }
  embedVectors(x: Tensor3D, offset?: number): Tensor3D {
    return this.base.embedVectors(x, offset);
  }
  get objective() {
    return this.base.objective;
  }
  block(index: number, h: Tensor3D, cache?: KVCache, keys?: Tensor2D): Tensor3D {
    return this.base.block(index, h, cache, keys);
  }
  head(h: Tensor3D): Tensor3D {
    return this.base.head(h);
  }
  get keyMask() {
    return this.base.keyMask?.bind(this.base);
  }
  partParams(part: ModelPart): string[] {
    return this.base.partParams(part);
  }
  linearSpecs(): LinearSpec[] {
    return this.base.linearSpecs();
  }
  dispose(): void {
    this.base.dispose();
  }
}

/** Width of the token embedding table (E; OPT's word_embed_proj_dim). */
export function embedWidth(model: CausalLM): number {
  return tf.tidy(() => model.tokenEmbeddings(tf.zeros([1, 1], 'int32')).shape[2]);
}

/**
 * The initial `prompt_embeddings` for `base` (its parameters loaded, frozen). From text (`ids`
 * already repeated and cut to n): prompt tuning takes the tokens' embedding rows (PEFT's TEXT);
 * prefix tuning takes each layer's keys and values of the text run through the model, so the
 * prefix starts as the cache the base model would have after reading the text.
 */
export function initialPrompt(
  kind: PromptKind,
  base: CausalLM,
  n: number,
  seed: number,
  textIds?: number[],
): Tensor2D {
  const shape = promptShape(kind, base.config, embedWidth(base), n);
  if (!textIds) return tf.randomNormal(shape, 0, 1, 'float32', initSeed(seed, 0));
  const ids = tf.tensor2d(textIds, [1, n], 'int32');
  try {
    if (kind === 'prompt') return tf.tidy(() => tf.reshape(base.tokenEmbeddings(ids), shape));
    const recorder = new RecordingCache(base.config.layers);
    try {
      const h = tf.tidy(() => base.embed(ids, 0));
      runVirtual(base, h, recorder);
      h.dispose();
      return packPrefix(recorder.entries);
    } finally {
      recorder.dispose();
    }
  } finally {
    ids.dispose();
  }
}

/** Keeps each layer's keys and values of one forward as they are written. */
class RecordingCache extends KVCache {
  readonly entries: { k: Tensor4D; v: Tensor4D }[] = [];

  constructor(layers: number) {
    super(layers, 0);
  }

  override write(layer: number, k: Tensor4D, v: Tensor4D): { k: Tensor4D; v: Tensor4D } {
    this.entries[layer] = { k: tf.keep(tf.clone(k)), v: tf.keep(tf.clone(v)) };
    return { k, v };
  }

  override dispose(): void {
    for (const e of this.entries) tf.dispose([e.k, e.v]);
    this.entries.length = 0;
  }
}

/** Wrap a loaded base whose params hold `prompt_embeddings`. */
export function promptTunedModel(base: CausalLM, kind: PromptKind, n: number): CausalLM {
  return new PromptTunedModel(base, kind, n);
}
