// What a model file exports. Adding an architecture means writing one of these (copy the
// nearest sibling: llama.ts for decoder-only RMSNorm/RoPE models, gpt2.ts or opt.ts for
// LayerNorm models with learned positions) and listing it in registry.ts.
import type { CausalLM, ModelOptions } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import type { Params } from './params.js';

/** Sizes for a random test model (`whetstone fixture`). */
export interface FixtureShape {
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  contextLength: number;
  /** Token ids the tokenizer assigns to its special tokens. */
  bosTokenId?: number;
  eosTokenId: number;
  padTokenId?: number;
}

export interface Architecture<C extends ModelConfig = ModelConfig> {
  /** The `model_type` values this file implements. */
  readonly modelTypes: readonly string[];
  /** Parse config.json (already read) into the engine's config. */
  parseConfig(raw: Record<string, unknown>, file: string): C;
  /** Every tensor the checkpoint must hold, by canonical Hugging Face name, with its shape. */
  tensorShapes(cfg: C): Map<string, number[]>;
  /**
   * Checkpoints of one architecture differ in prefixes (GPT-2's `transformer.`, OPT's `model.`).
   * Given the names present in a checkpoint, map a canonical name to the stored one.
   */
  storedName(available: ReadonlySet<string>): (canonical: string) => string;
  create(cfg: C, params: Params, opts?: ModelOptions): CausalLM;
  /** A config.json for a small random model of this architecture. */
  fixtureConfig(shape: FixtureShape): Record<string, unknown>;
}
