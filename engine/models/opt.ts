// OPT decoder (Meta's Open Pre-trained Transformers): learned positions offset by 2, LayerNorm
// before (most sizes) or after (opt-350m) each sub-block, ReLU MLP, optional projection between
// the embedding width and the model width (opt-350m).
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Tensor2D, type Tensor3D } from '../backend/tf.js';
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

export interface OptConfig extends CommonConfig {
  family: 'opt';
  ffnDim: number;
  /** Width of the token embedding; differs from `hidden` when project_in/out exist. */
  embedDim: number;
  activation: string;
  preNorm: boolean;
  finalNorm: boolean;
  bias: boolean;
  normAffine: boolean;
}

/** OPT's position table starts two rows in (a fairseq legacy). */
const POSITION_SHIFT = 2;
const LN_EPS = 1e-5;

const positive = z.number().int().positive();
const schema = z
  .object({
    model_type: z.string(),
    vocab_size: positive.default(50272),
    hidden_size: positive.default(768),
    num_hidden_layers: positive.default(12),
    ffn_dim: positive.default(3072),
    max_position_embeddings: positive.default(2048),
    do_layer_norm_before: z.boolean().default(true),
    _remove_final_layer_norm: z.boolean().default(false),
    word_embed_proj_dim: positive.nullish(),
    num_attention_heads: positive.default(12),
    activation_function: z.string().default('relu'),
    enable_bias: z.boolean().default(true),
    layer_norm_elementwise_affine: z.boolean().default(true),
    tie_word_embeddings: z.boolean().nullish(),
    bos_token_id: z.number().int().nullish().default(2),
    eos_token_id: z
      .union([z.number().int(), z.array(z.number().int())])
      .nullish()
      .default(2),
    pad_token_id: z.number().int().nullish().default(1),
    torch_dtype: z.string().nullish(),
    dtype: z.string().nullish(),
  })
  .loose();

function parseConfig(raw: Record<string, unknown>, file: string): OptConfig {
  const c = parseWith(schema, raw, file);
  activationByName(c.activation_function, file);
  const headDim = c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim)) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}.`,
    );
  }
  return {
    family: 'opt',
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hidden: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads: c.num_attention_heads,
    headDim,
    contextLength: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings ?? true,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: eosList(c.eos_token_id),
    padTokenId: c.pad_token_id ?? undefined,
    torchDtype: c.torch_dtype ?? c.dtype ?? undefined,
    ffnDim: c.ffn_dim,
    embedDim: c.word_embed_proj_dim ?? c.hidden_size,
    activation: c.activation_function,
    preNorm: c.do_layer_norm_before,
    finalNorm: c.do_layer_norm_before && !c._remove_final_layer_norm,
    bias: c.enable_bias,
    normAffine: c.layer_norm_elementwise_affine,
  };
}

const D = 'model.decoder';
const EMBED = `${D}.embed_tokens.weight`;
const POSITIONS = `${D}.embed_positions.weight`;

function linearSpecs(cfg: OptConfig): LinearSpec[] {
  const specs: LinearSpec[] = [];
  const add = (name: string, inFeatures: number, outFeatures: number, bias = cfg.bias) =>
    specs.push({ name, inFeatures, outFeatures, bias, layout: 'out-in' });
  if (cfg.embedDim !== cfg.hidden) {
    add(`${D}.project_in`, cfg.embedDim, cfg.hidden, false);
    add(`${D}.project_out`, cfg.hidden, cfg.embedDim, false);
  }
  for (let i = 0; i < cfg.layers; i++) {
    const p = `${D}.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj'])
      add(`${p}.self_attn.${proj}`, cfg.hidden, cfg.hidden);
    add(`${p}.fc1`, cfg.hidden, cfg.ffnDim);
    add(`${p}.fc2`, cfg.ffnDim, cfg.hidden);
  }
  return specs;
}

function normNames(cfg: OptConfig): string[] {
  const norms = [];
  for (let i = 0; i < cfg.layers; i++)
    norms.push(`${D}.layers.${i}.self_attn_layer_norm`, `${D}.layers.${i}.final_layer_norm`);
  if (cfg.finalNorm) norms.push(`${D}.final_layer_norm`);
  return norms;
}

function tensorShapes(cfg: OptConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>([
    [EMBED, [cfg.vocabSize, cfg.embedDim]],
    [POSITIONS, [cfg.contextLength + POSITION_SHIFT, cfg.hidden]],
  ]);
  for (const spec of linearSpecs(cfg)) {
    shapes.set(`${spec.name}.weight`, linearWeightShape(spec));
    if (spec.bias) shapes.set(`${spec.name}.bias`, [spec.outFeatures]);
  }
  if (cfg.normAffine) {
    for (const norm of normNames(cfg)) {
      shapes.set(`${norm}.weight`, [cfg.hidden]);
      if (cfg.bias) shapes.set(`${norm}.bias`, [cfg.hidden]);
    }
  }
  if (!cfg.tieWordEmbeddings) shapes.set('lm_head.weight', [cfg.vocabSize, cfg.embedDim]);
  return shapes;
}

class OptModel implements CausalLM {
  readonly objective = 'causal';
  private readonly constants = new ConstantCache();
  private readonly linear: LinearFn;
  private readonly specs: Map<string, LinearSpec>;
  private readonly act: Activation;

  constructor(
    readonly config: OptConfig,
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
    return tf.gather(this.params.get(EMBED), ids) as Tensor3D; // [B, T, E]
  }

  embedVectors(x: Tensor3D, offset = 0): Tensor3D {
    return tf.tidy(() => {
      let tokens = x;
      if (this.specs.has(`${D}.project_in`)) tokens = this.project(`${D}.project_in`, tokens); // [B, T, C]
      const positions = positionRows(
        this.params.get(POSITIONS),
        offset,
        x.shape[1],
        POSITION_SHIFT,
      );
      return tf.add<Tensor3D>(tokens, positions);
    });
  }

  block(index: number, h: Tensor3D, cache?: KVCache): Tensor3D {
    const p = `${D}.layers.${index}`;
    const pre = this.config.preNorm;
    return tf.tidy(() => {
      let x = pre ? this.norm(`${p}.self_attn_layer_norm`, h) : h;
      let out = tf.add<Tensor3D>(h, this.attention(index, x, cache));
      if (!pre) out = this.norm(`${p}.self_attn_layer_norm`, out);
      x = pre ? this.norm(`${p}.final_layer_norm`, out) : out;
      const inner = this.act(this.project(`${p}.fc1`, x)) as Tensor3D; // [B, T, F]
      out = tf.add<Tensor3D>(out, this.project(`${p}.fc2`, inner));
      return pre ? out : this.norm(`${p}.final_layer_norm`, out);
    });
  }

  private attention(index: number, x: Tensor3D, cache?: KVCache): Tensor3D {
    const p = `${D}.layers.${index}.self_attn`;
    const heads = this.config.heads;
    const q = splitHeads(this.project(`${p}.q_proj`, x), heads); // [B, H, T, D]
    const k = splitHeads(this.project(`${p}.k_proj`, x), heads);
    const v = splitHeads(this.project(`${p}.v_proj`, x), heads);
    const context = causalAttention(q, k, v, {
      scale: 1 / Math.sqrt(this.config.headDim),
      cache: cache && { store: cache, layer: index },
      constants: this.constants,
    });
    return this.project(`${p}.out_proj`, context);
  }

  head(h: Tensor3D): Tensor3D {
    return tf.tidy(() => {
      let x = this.config.finalNorm ? this.norm(`${D}.final_layer_norm`, h) : h;
      if (this.specs.has(`${D}.project_out`)) x = this.project(`${D}.project_out`, x); // [B, T, E]
      const [b, t, e] = x.shape;
      const w = this.params.get(
        this.config.tieWordEmbeddings ? EMBED : 'lm_head.weight',
      ) as Tensor2D;
      const logits = tf.matMul(tf.reshape(x, [b * t, e]), w, false, true); // [B*T, V]
      return tf.reshape(logits, [b, t, this.config.vocabSize]);
    });
  }

  partParams(part: ModelPart): string[] {
    const names = this.params.names();
    if (part === 'embed')
      return names.filter(
        (n) => n === EMBED || n === POSITIONS || n.startsWith(`${D}.project_in.`),
      );
    if (part === 'head') {
      const head = names.filter(
        (n) => n.startsWith(`${D}.final_layer_norm.`) || n.startsWith(`${D}.project_out.`),
      );
      return [...head, this.config.tieWordEmbeddings ? EMBED : 'lm_head.weight'];
    }
    return names.filter((n) => n.startsWith(`${D}.layers.${part}.`));
  }

  linearSpecs(): LinearSpec[] {
    return [...this.specs.values()];
  }

  dispose(): void {
    this.constants.dispose();
  }

  private norm(name: string, x: Tensor3D): Tensor3D {
    const get = (suffix: string): Tensor | undefined =>
      this.params.has(`${name}.${suffix}`) ? this.params.get(`${name}.${suffix}`) : undefined;
    return layerNorm(x, get('weight'), get('bias'), LN_EPS);
  }

  private project(name: string, x: Tensor3D): Tensor3D {
    return applyLinear(this.linear, this.specs.get(name)!, x);
  }
}

// facebook/opt-* checkpoints were saved from OPTModel: names start at `decoder.`.
function storedName(available: ReadonlySet<string>): (canonical: string) => string {
  const bare = !available.has(EMBED) && available.has('decoder.embed_tokens.weight');
  return (name) => (bare && name.startsWith('model.') ? name.slice('model.'.length) : name);
}

function fixtureConfig(s: FixtureShape): Record<string, unknown> {
  return {
    architectures: ['OPTForCausalLM'],
    model_type: 'opt',
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    ffn_dim: 4 * s.hidden,
    max_position_embeddings: s.contextLength,
    do_layer_norm_before: true,
    _remove_final_layer_norm: false,
    word_embed_proj_dim: s.hidden,
    num_attention_heads: s.heads,
    activation_function: 'relu',
    enable_bias: true,
    layer_norm_elementwise_affine: true,
    dropout: 0.1,
    attention_dropout: 0,
    init_std: 0.02,
    bos_token_id: s.bosTokenId ?? 2,
    eos_token_id: s.eosTokenId,
    pad_token_id: s.padTokenId ?? 1,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
  };
}

export const opt: Architecture<OptConfig> = {
  modelTypes: ['opt'],
  parseConfig,
  tensorShapes,
  storedName,
  create: (cfg, params, opts) => new OptModel(cfg, params, opts),
  fixtureConfig,
};
