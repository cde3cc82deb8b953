// The surface every architecture implements. Splitting a model into embed, blocks and head lets
// block-wise methods (LOMO) recompute and update one part at a time; the full forward is the
// same three steps in a row. Decoders and bidirectional encoders (RoBERTa, BERT) share it: an
// encoder also says which tokens are padding (`keyMask`), which its blocks then ignore.
import { tf, type Tensor2D, type Tensor3D } from '../backend/tf.js';
import type { KVCache } from './layers/kv-cache.js';
import type { LinearFn, LinearSpec } from './layers/linear.js';
import type { Params } from './params.js';
import type { ModelConfig } from './config.js';

/** 'embed', a block index, or 'head'. */
export type ModelPart = 'embed' | number | 'head';

export interface CausalLM {
  readonly config: ModelConfig;
  /**
   * 'masked' for bidirectional encoders trained on masked positions (RoBERTa, BERT); 'causal'
   * for decoders, whose logits at t predict token t+1.
   */
  readonly objective: 'causal' | 'masked';
  readonly params: Params;
  /** Token ids [B, T] (int32) -> hidden states [B, T, C]; positions start at `offset`. */
  embed(ids: Tensor2D, offset?: number): Tensor3D;
  /** Rows of the token embedding table: ids [B, T] -> [B, T, E] (no positions). */
  tokenEmbeddings(ids: Tensor2D): Tensor3D;
  /**
   * What embed does after the lookup, for vectors given directly (prompt tuning's virtual
   * tokens): [B, T, E] -> hidden states [B, T, C] at positions `offset`...
   */
  embedVectors(x: Tensor3D, offset?: number): Tensor3D;
  /**
   * Block `index`: [B, T, C] -> [B, T, C]. With a cache, keys/values are appended to it. `keys`
   * (encoders) is keyMask's [B, T] for the real tokens; keys before them (virtual tokens) are
   * always attended.
   */
  block(index: number, h: Tensor3D, cache?: KVCache, keys?: Tensor2D): Tensor3D;
  /**
   * Encoders: which of `ids` are real tokens, [B, T] float32 (1 real, 0 padding), to pass to
   * every block. Decoders have none: right padding comes after every real token, so a causal
   * mask already hides it.
   */
  keyMask?(ids: Tensor2D): Tensor2D;
  /** Final norm and LM head: [B, T, C] -> logits [B, T, V]. */
  head(h: Tensor3D): Tensor3D;
  /** Names of the parameters a part reads (a tied embedding is listed by both embed and head). */
  partParams(part: ModelPart): string[];
  /** Every linear module, for adapters and quantization. */
  linearSpecs(): LinearSpec[];
  /** Free the model's constant tensors (masks, rotary tables); parameters belong to `params`. */
  dispose(): void;
  /** Virtual tokens every sequence continues from (prefix and prompt tuning). */
  readonly prefix?: VirtualPrefix;
}

/**
 * Keys and values of n virtual positions before every sequence, per layer. Real tokens continue
 * at position n, as Hugging Face's models do after past_key_values (or prepended embeddings).
 */
export interface VirtualPrefix {
  readonly length: number;
  /** Logits [B, T, V] of the real tokens `ids` after the prefix (differentiable in its tensor). */
  forward(ids: Tensor2D): Tensor3D;
  /** Write the prefix into an empty generation cache (batch 1) and advance it. */
  fill(cache: KVCache): void;
}

/** Options every architecture accepts. */
export interface ModelOptions {
  /** How linear modules compute; dense by default. PEFT and quantization wrap it. */
  linear?: LinearFn;
}

/**
 * Full forward: logits [B, T, V]. With a cache, continues from `cache.length` and advances it;
 * without one, a model's virtual prefix (if any) comes first.
 */
export function forwardLogits(model: CausalLM, ids: Tensor2D, cache?: KVCache): Tensor3D {
  if (!cache && model.prefix) return model.prefix.forward(ids);
  return tf.tidy(() => {
    const keys = model.keyMask?.(ids);
    let h = model.embed(ids, cache?.length ?? 0);
    for (let i = 0; i < model.config.layers; i++) h = model.block(i, h, cache, keys);
    const logits = model.head(h);
    if (cache) cache.length += ids.shape[1];
    return logits;
  });
}

/** Apply a linear module to [B, T, in] -> [B, T, out]. */
export function applyLinear(linear: LinearFn, spec: LinearSpec, x: Tensor3D): Tensor3D {
  const [b, t, c] = x.shape;
  const y = linear(spec, tf.reshape(x, [b * t, c]));
  return tf.reshape(y, [b, t, spec.outFeatures]);
}
