// GPT-2 decoder: LayerNorm before each sub-block, learned positions, fused qkv projection
// stored as Conv1D ([in, out]), GELU MLP, LM head tied to the token embedding.
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor2D, type Tensor3D } from '../backend/tf.js';
import type { Architecture, FixtureShape } from './architecture.js';
import { applyLinear, type CausalLM, type ModelOptions, type ModelPart } from './causal-lm.js';
import { eosList, parseWith, type CommonConfig } from './config.js';
import { activationByName, type Activation } from './layers/activations.js';
import { causalAttention, ConstantCache, splitHeads } from './layers/attention.js';
import type { KVCache } from './layers/kv-cache.js';
import { denseLinear, linearWeightShape, type LinearFn, type LinearSpec } from './layers/linear.js';
import { layerNorm } from './layers/norms.js';
import type { Params } from './params.js';
import { positionRows } from './positions.js';

export interface Gpt2Config extends CommonConfig {
  family: 'gpt2';
  inner: number;
  activation: string;
  layerNormEps: number;
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
}

const positive = z.number().int().positive();
const schema = z
  .object({
    model_type: z.string(),
    vocab_size: positive.default(50257),
    n_positions: positive.default(1024),
    n_embd: positive.default(768),
    n_layer: positive.default(12),
    n_head: positive.default(12),
    n_inner: positive.nullish(),
    activation_function: z.string().default('gelu_new'),
    layer_norm_epsilon: z.number().positive().default(1e-5),
    scale_attn_weights: z.boolean().default(true),
    scale_attn_by_inverse_layer_idx: z.boolean().default(false),
    add_cross_attention: z.literal(false).default(false),
    tie_word_embeddings: z.boolean().nullish(),
    bos_token_id: z.number().int().nullish(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    pad_token_id: z.number().int().nullish(),
    torch_dtype: z.string().nullish(),
    dtype: z.string().nullish(),
  })
  .loose();

function parseConfig(raw: Record<string, unknown>, file: string): Gpt2Config {
  const c = parseWith(schema, raw, file);
  activationByName(c.activation_function, file);
  const headDim = c.n_embd / c.n_head;
  if (!Number.isInteger(headDim)) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: n_embd ${c.n_embd} is not a multiple of n_head ${c.n_head}.`,
    );
  }
  return {
    family: 'gpt2',
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hidden: c.n_embd,
    layers: c.n_layer,
    heads: c.n_head,
    kvHeads: c.n_head,
    headDim,
    contextLength: c.n_positions,
    tieWordEmbeddings: c.tie_word_embeddings ?? true,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: eosList(c.eos_token_id),
    padTokenId: c.pad_token_id ?? undefined,
    torchDtype: c.torch_dtype ?? c.dtype ?? undefined,
    inner: c.n_inner ?? 4 * c.n_embd,
    activation: c.activation_function,
    layerNormEps: c.layer_norm_epsilon,
    scaleAttnWeights: c.scale_attn_weights,
    scaleAttnByInverseLayerIdx: c.scale_attn_by_inverse_layer_idx,
  };
}

function linearSpecs(cfg: Gpt2Config): LinearSpec[] {
  const specs: LinearSpec[] = [];
  const add = (name: string, inFeatures: number, outFeatures: number) =>
    specs.push({ name, inFeatures, outFeatures, bias: true, layout: 'in-out' });
  for (let i = 0; i < cfg.layers; i++) {
    const p = `transformer.h.${i}`;
    add(`${p}.attn.c_attn`, cfg.hidden, 3 * cfg.hidden);
    add(`${p}.attn.c_proj`, cfg.hidden, cfg.hidden);
    add(`${p}.mlp.c_fc`, cfg.hidden, cfg.inner);
    add(`${p}.mlp.c_proj`, cfg.inner, cfg.hidden);
  }
  return specs;
}

const WTE = 'transformer.wte.weight';
const WPE = 'transformer.wpe.weight';

function tensorShapes(cfg: Gpt2Config): Map<string, number[]> {
  const c = cfg.hidden;
  const shapes = new Map<string, number[]>([
    [WTE, [cfg.vocabSize, c]],
    [WPE, [cfg.contextLength, c]],
  ]);
  for (let i = 0; i < cfg.layers; i++) {
    for (const ln of ['ln_1', 'ln_2']) {
      shapes.set(`transformer.h.${i}.${ln}.weight`, [c]);
      shapes.set(`transformer.h.${i}.${ln}.bias`, [c]);
    }
  }
  for (const spec of linearSpecs(cfg)) {
    shapes.set(`${spec.name}.weight`, linearWeightShape(spec));
    shapes.set(`${spec.name}.bias`, [spec.outFeatures]);
  }
  shapes.set('transformer.ln_f.weight', [c]);
  shapes.set('transformer.ln_f.bias', [c]);
  if (!cfg.tieWordEmbeddings) shapes.set('lm_head.weight', [cfg.vocabSize, c]);
  return shapes;
}

class Gpt2Model implements CausalLM {
  readonly objective = 'causal';
  private readonly constants = new ConstantCache();
  private readonly linear: LinearFn;
  private readonly specs: Map<string, LinearSpec>;
  private readonly act: Activation;

  constructor(
    readonly config: Gpt2Config,
    readonly params: Params,
    opts: ModelOptions = {},
  ) {
    this.linear = opts.linear ?? denseLinear(params);
    this.specs = new Map(linearSpecs(config).map((s) => [s.name, s]));
    this.act = activationByName(config.activation, 'config.json');
  }

  embed(ids: Tensor2D, offset = 0): Tensor3D {
    return tf.tidy(() => this.embedVectors(this.tokenEmbeddings(ids), offset));
  }

  tokenEmbeddings(ids: Tensor2D): Tensor3D {
    return tf.gather(this.params.get(WTE), ids) as Tensor3D; // [B, T, C]
  }

  embedVectors(x: Tensor3D, offset = 0): Tensor3D {
    return tf.add<Tensor3D>(x, positionRows(this.params.get(WPE), offset, x.shape[1]));
  }

  block(index: number, h: Tensor3D, cache?: KVCache): Tensor3D {
    const p = `transformer.h.${index}`;
    return tf.tidy(() => {
      const x = this.norm(`${p}.ln_1`, h);
      const h2 = tf.add<Tensor3D>(h, this.attention(index, x, cache));
      const x2 = this.norm(`${p}.ln_2`, h2);
      const inner = this.act(this.project(`${p}.mlp.c_fc`, x2)) as Tensor3D; // [B, T, 4C]
      return tf.add<Tensor3D>(h2, this.project(`${p}.mlp.c_proj`, inner));
    });
  }

  private attention(index: number, x: Tensor3D, cache?: KVCache): Tensor3D {
    const p = `transformer.h.${index}.attn`;
    const { heads, headDim } = this.config;
    const qkv = this.project(`${p}.c_attn`, x); // [B, T, 3C]
    const [q, k, v] = tf.split(qkv, 3, -1).map((part) => splitHeads(part as Tensor3D, heads));
    let scale = this.config.scaleAttnWeights ? 1 / Math.sqrt(headDim) : 1;
    if (this.config.scaleAttnByInverseLayerIdx) scale /= index + 1;
    const context = causalAttention(q!, k!, v!, {
      scale,
      cache: cache && { store: cache, layer: index },
      constants: this.constants,
    });
    return this.project(`${p}.c_proj`, context);
  }

  head(h: Tensor3D): Tensor3D {
    return tf.tidy(() => {
      const [b, t, c] = h.shape;
      const x = this.norm('transformer.ln_f', h);
      const w = this.params.get(this.config.tieWordEmbeddings ? WTE : 'lm_head.weight') as Tensor2D;
      const logits = tf.matMul(tf.reshape(x, [b * t, c]), w, false, true); // [B*T, V]
      return tf.reshape(logits, [b, t, this.config.vocabSize]);
    });
  }

  partParams(part: ModelPart): string[] {
    if (part === 'embed') return [WTE, WPE];
    if (part === 'head') {
      return [
        'transformer.ln_f.weight',
        'transformer.ln_f.bias',
        this.config.tieWordEmbeddings ? WTE : 'lm_head.weight',
      ];
    }
    return this.params.names().filter((n) => n.startsWith(`transformer.h.${part}.`));
  }

  linearSpecs(): LinearSpec[] {
    return [...this.specs.values()];
  }

  dispose(): void {
    this.constants.dispose();
  }

  private norm(name: string, x: Tensor3D): Tensor3D {
    return layerNorm(
      x,
      this.params.get(`${name}.weight`),
      this.params.get(`${name}.bias`),
      this.config.layerNormEps,
    );
  }

  private project(name: string, x: Tensor3D): Tensor3D {
    return applyLinear(this.linear, this.specs.get(name)!, x);
  }
}

// The original GPT-2 checkpoints store names without the `transformer.` prefix.
function storedName(available: ReadonlySet<string>): (canonical: string) => string {
  const bare = !available.has(WTE) && available.has('wte.weight');
  return (name) =>
    bare && name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

function fixtureConfig(s: FixtureShape): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: s.vocab,
    n_positions: s.contextLength,
    n_ctx: s.contextLength,
    n_embd: s.hidden,
    n_layer: s.layers,
    n_head: s.heads,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    scale_attn_weights: true,
    bos_token_id: s.bosTokenId ?? s.eosTokenId,
    eos_token_id: s.eosTokenId,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
  };
}

export const gpt2: Architecture<Gpt2Config> = {
  modelTypes: ['gpt2'],
  parseConfig,
  tensorShapes,
  storedName,
  create: (cfg, params, opts) => new Gpt2Model(cfg, params, opts),
  fixtureConfig,
};
