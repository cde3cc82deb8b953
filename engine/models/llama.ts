// Llama-family decoder (model_type llama, mistral, qwen2): RMSNorm, rotary positions,
// grouped-query attention, SwiGLU MLP, tied or untied embeddings. Covers Llama 2/3 (with rope
// scaling), Mistral (sliding window), Qwen2 (q/k/v bias), SmolLM and TinyLlama.
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
import { rmsNorm } from './layers/norms.js';
import { applyRotary, parseRopeScaling, rotaryTables, type RopeConfig } from './layers/rope.js';
import type { Params } from './params.js';

export interface LlamaConfig extends CommonConfig {
  family: 'llama';
  intermediate: number;
  hiddenAct: string;
  rmsNormEps: number;
  rope: RopeConfig;
  /** Bias on q/k/v (Qwen2, or Llama's attention_bias) and on o_proj (attention_bias only). */
  qkvBias: boolean;
  outBias: boolean;
  mlpBias: boolean;
  /** Sliding attention window per layer (undefined: full causal attention). */
  windows: (number | undefined)[];
}

const id = z.number().int().nullish();
const positive = z.number().int().positive();
const schema = z
  .object({
    model_type: z.string(),
    vocab_size: positive.default(32000),
    hidden_size: positive.default(4096),
    intermediate_size: positive.default(11008),
    num_hidden_layers: positive.default(32),
    num_attention_heads: positive.default(32),
    num_key_value_heads: positive.nullish(),
    head_dim: positive.nullish(),
    hidden_act: z.string().default('silu'),
    max_position_embeddings: positive.default(2048),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().nullish(),
    rope_scaling: z.unknown().nullish(),
    rope_parameters: z.record(z.string(), z.unknown()).nullish(),
    attention_bias: z.boolean().default(false),
    mlp_bias: z.boolean().default(false),
    tie_word_embeddings: z.boolean().nullish(),
    sliding_window: positive.nullish(),
    use_sliding_window: z.boolean().optional(),
    max_window_layers: z.number().int().nonnegative().nullish(),
    layer_types: z.array(z.string()).nullish(),
    bos_token_id: id,
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    pad_token_id: id,
    torch_dtype: z.string().nullish(),
    dtype: z.string().nullish(),
  })
  .loose();

function parseConfig(raw: Record<string, unknown>, file: string): LlamaConfig {
  const c = parseWith(schema, raw, file);
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (c.num_attention_heads % kvHeads !== 0 || !Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: ${c.num_attention_heads} attention heads, ${kvHeads} key/value heads and head size ${headDim} do not fit together.`,
      'num_attention_heads must be a multiple of num_key_value_heads, and the head size even.',
    );
  }
  const ropeParams = c.rope_parameters ?? {};
  const theta = c.rope_theta ?? (ropeParams.rope_theta as number | undefined) ?? 10000;
  const scaling = parseRopeScaling(
    c.rope_scaling ?? (c.rope_parameters ? ropeParams : undefined),
    file,
  );
  activationByName(c.hidden_act, file);
  return {
    family: 'llama',
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hidden: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads,
    headDim,
    contextLength: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: eosList(c.eos_token_id),
    padTokenId: c.pad_token_id ?? undefined,
    torchDtype: c.torch_dtype ?? c.dtype ?? undefined,
    intermediate: c.intermediate_size,
    hiddenAct: c.hidden_act,
    rmsNormEps: c.rms_norm_eps,
    rope: { headDim, theta, maxPositions: c.max_position_embeddings, scaling },
    qkvBias: c.model_type === 'qwen2' || c.attention_bias,
    outBias: c.attention_bias,
    mlpBias: c.mlp_bias,
    windows: slidingWindows(c),
  };
}

// Mistral slides every layer; Qwen2 only when use_sliding_window, from max_window_layers on;
// newer configs list layer_types explicitly.
function slidingWindows(c: z.infer<typeof schema>): (number | undefined)[] {
  const layers = Array.from({ length: c.num_hidden_layers }, (_, i) => i);
  const window = c.sliding_window ?? undefined;
  if (window === undefined) return layers.map(() => undefined);
  if (c.layer_types)
    return layers.map((i) => (c.layer_types![i] === 'sliding_attention' ? window : undefined));
  if (c.model_type === 'mistral') return layers.map(() => window);
  if (c.model_type === 'qwen2' && c.use_sliding_window) {
    return layers.map((i) => (i >= (c.max_window_layers ?? 0) ? window : undefined));
  }
  return layers.map(() => undefined);
}

function linearSpecs(cfg: LlamaConfig): LinearSpec[] {
  const specs: LinearSpec[] = [];
  const attnWidth = cfg.heads * cfg.headDim;
  const kvWidth = cfg.kvHeads * cfg.headDim;
  const add = (name: string, inFeatures: number, outFeatures: number, bias: boolean) =>
    specs.push({ name, inFeatures, outFeatures, bias, layout: 'out-in' });
  for (let i = 0; i < cfg.layers; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.self_attn.q_proj`, cfg.hidden, attnWidth, cfg.qkvBias);
    add(`${p}.self_attn.k_proj`, cfg.hidden, kvWidth, cfg.qkvBias);
    add(`${p}.self_attn.v_proj`, cfg.hidden, kvWidth, cfg.qkvBias);
    add(`${p}.self_attn.o_proj`, attnWidth, cfg.hidden, cfg.outBias);
    add(`${p}.mlp.gate_proj`, cfg.hidden, cfg.intermediate, cfg.mlpBias);
    add(`${p}.mlp.up_proj`, cfg.hidden, cfg.intermediate, cfg.mlpBias);
    add(`${p}.mlp.down_proj`, cfg.intermediate, cfg.hidden, cfg.mlpBias);
  }
  return specs;
}

const EMBED = 'model.embed_tokens.weight';

function tensorShapes(cfg: LlamaConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>([[EMBED, [cfg.vocabSize, cfg.hidden]]]);
  for (let i = 0; i < cfg.layers; i++) {
    shapes.set(`model.layers.${i}.input_layernorm.weight`, [cfg.hidden]);
    shapes.set(`model.layers.${i}.post_attention_layernorm.weight`, [cfg.hidden]);
  }
  for (const spec of linearSpecs(cfg)) {
    shapes.set(`${spec.name}.weight`, linearWeightShape(spec));
    if (spec.bias) shapes.set(`${spec.name}.bias`, [spec.outFeatures]);
  }
  shapes.set('model.norm.weight', [cfg.hidden]);
  if (!cfg.tieWordEmbeddings) shapes.set('lm_head.weight', [cfg.vocabSize, cfg.hidden]);
  return shapes;
}

class LlamaModel implements CausalLM {
  readonly objective = 'causal';
  private readonly constants = new ConstantCache();
  private readonly linear: LinearFn;
  private readonly specs: Map<string, LinearSpec>;
  private readonly act: Activation;

  constructor(
    readonly config: LlamaConfig,
    readonly params: Params,
    opts: ModelOptions = {},
  ) {
    this.linear = opts.linear ?? denseLinear(params);
    this.specs = new Map(linearSpecs(config).map((s) => [s.name, s]));
    this.act = activationByName(config.hiddenAct, 'config.json');
  }

  embed(ids: Tensor2D): Tensor3D {
    return this.tokenEmbeddings(ids);
  }

  tokenEmbeddings(ids: Tensor2D): Tensor3D {
    return tf.gather(this.params.get(EMBED), ids) as Tensor3D; // [B, T, C]
  }

  // Rotary positions enter in attention, so the embedding carries no position.
  embedVectors(x: Tensor3D): Tensor3D {
    return x;
  }

  block(index: number, h: Tensor3D, cache?: KVCache): Tensor3D {
    const p = `model.layers.${index}`;
    const eps = this.config.rmsNormEps;
    return tf.tidy(() => {
      const x = rmsNorm(h, this.params.get(`${p}.input_layernorm.weight`), eps);
      const h2 = tf.add<Tensor3D>(h, this.attention(index, x, cache));
      const x2 = rmsNorm(h2, this.params.get(`${p}.post_attention_layernorm.weight`), eps);
      const gate = this.act(this.project(`${p}.mlp.gate_proj`, x2)); // [B, T, I]
      const up = this.project(`${p}.mlp.up_proj`, x2);
      return tf.add<Tensor3D>(h2, this.project(`${p}.mlp.down_proj`, tf.mul<Tensor3D>(gate, up)));
    });
  }

  private attention(index: number, x: Tensor3D, cache?: KVCache): Tensor3D {
    const p = `model.layers.${index}.self_attn`;
    const { heads, kvHeads, headDim } = this.config;
    const q = splitHeads(this.project(`${p}.q_proj`, x), heads); // [B, H, T, D]
    const k = splitHeads(this.project(`${p}.k_proj`, x), kvHeads); // [B, KV, T, D]
    const v = splitHeads(this.project(`${p}.v_proj`, x), kvHeads);
    const offset = cache?.length ?? 0;
    const t = x.shape[1];
    const [cos, sin] = this.constants.get(`rope:${offset}:${t}`, () => {
      const tables = rotaryTables(this.config.rope, offset, t);
      return [tables.cos, tables.sin];
    });
    const context = causalAttention(applyRotary(q, cos, sin), applyRotary(k, cos, sin), v, {
      scale: 1 / Math.sqrt(headDim),
      window: this.config.windows[index],
      cache: cache && { store: cache, layer: index },
      constants: this.constants,
    }); // [B, T, H*D]
    return this.project(`${p}.o_proj`, context);
  }

  head(h: Tensor3D): Tensor3D {
    return tf.tidy(() => {
      const [b, t, c] = h.shape;
      const x = rmsNorm(h, this.params.get('model.norm.weight'), this.config.rmsNormEps);
      const w = this.params.get(
        this.config.tieWordEmbeddings ? EMBED : 'lm_head.weight',
      ) as Tensor2D;
      const logits = tf.matMul(tf.reshape(x, [b * t, c]), w, false, true); // [B*T, V]
      return tf.reshape(logits, [b, t, this.config.vocabSize]);
    });
  }

  partParams(part: ModelPart): string[] {
    if (part === 'embed') return [EMBED];
    if (part === 'head')
      return ['model.norm.weight', this.config.tieWordEmbeddings ? EMBED : 'lm_head.weight'];
    return this.params.names().filter((n) => n.startsWith(`model.layers.${part}.`));
  }

  linearSpecs(): LinearSpec[] {
    return [...this.specs.values()];
  }

  dispose(): void {
    this.constants.dispose();
  }

  private project(name: string, x: Tensor3D): Tensor3D {
    return applyLinear(this.linear, this.specs.get(name)!, x);
  }
}

function fixtureConfig(s: FixtureShape): Record<string, unknown> {
  const headDim = s.hidden / s.heads;
  const base = {
    hidden_size: s.hidden,
    intermediate_size: Math.ceil((s.hidden * 8) / 3 / 16) * 16,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: headDim,
    hidden_act: 'silu',
    max_position_embeddings: s.contextLength,
    vocab_size: s.vocab,
    rms_norm_eps: 1e-5,
    bos_token_id: s.bosTokenId ?? null,
    eos_token_id: s.eosTokenId,
    pad_token_id: s.padTokenId ?? null,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
  };
  if (s.modelType === 'mistral') {
    // A window shorter than the context, so tests exercise the sliding mask.
    return {
      ...base,
      architectures: ['MistralForCausalLM'],
      model_type: 'mistral',
      rope_theta: 10000,
      sliding_window: Math.max(4, Math.floor(s.contextLength / 4)),
      tie_word_embeddings: false,
    };
  }
  if (s.modelType === 'qwen2') {
    return {
      ...base,
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      rope_theta: 1000000,
      use_sliding_window: false,
      sliding_window: null,
      max_window_layers: s.layers,
      tie_word_embeddings: true,
    };
  }
  // Llama 3.x style: large theta and llama3 rope scaling.
  return {
    ...base,
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    rope_theta: 500000,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: Math.max(8, Math.floor(s.contextLength / 4)),
    },
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
  };
}

export const llama: Architecture<LlamaConfig> = {
  modelTypes: ['llama', 'mistral', 'qwen2'],
  parseConfig,
  tensorShapes,
  storedName: () => (name) => name,
  create: (cfg, params, opts) => new LlamaModel(cfg, params, opts),
  fixtureConfig,
};
