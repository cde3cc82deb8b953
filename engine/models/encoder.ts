// Bidirectional masked-LM encoders: RoBERTa and BERT, which differ only in names and positions.
// Embedding = LayerNorm(word + position + token type 0); post-LayerNorm blocks (attention over
// every real token, then a GELU MLP, each added back and normalised); the MLM head is dense,
// GELU, LayerNorm, then the decoder tied to the word embedding plus a bias.
// Positions: BERT counts 0..T-1; RoBERTa counts real tokens from padding_idx + 1 (a fairseq
// legacy) and gives padding the position padding_idx.
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../backend/tf.js';
import type { Architecture, FixtureShape } from './architecture.js';
import { applyLinear, type CausalLM, type ModelOptions, type ModelPart } from './causal-lm.js';
import { eosList, parseWith, type CommonConfig } from './config.js';
import { activationByName, type Activation } from './layers/activations.js';
import { splitHeads } from './layers/attention.js';
import type { KVCache } from './layers/kv-cache.js';
import { denseLinear, linearWeightShape, type LinearFn, type LinearSpec } from './layers/linear.js';
import { layerNorm } from './layers/norms.js';
import type { Params } from './params.js';
import { positionRows } from './positions.js';

export interface EncoderConfig extends CommonConfig {
  family: 'encoder';
  modelType: 'roberta' | 'bert';
  intermediate: number;
  activation: string;
  layerNormEps: number;
  typeVocabSize: number;
  /** Rows of the position table (RoBERTa's include the padding_idx + 1 offset). */
  positionRows: number;
}

/** What tells RoBERTa and BERT apart, besides model_type. */
interface Flavour {
  /** Prefix of the encoder's tensors in an MLM checkpoint. */
  base: string;
  /** The MLM head's tensors: dense, its LayerNorm, the decoder and the output bias. */
  head: { dense: string; norm: string; decoder: string; bias: string };
  /** Positions count from padding_idx + 1, padding sits at padding_idx. */
  paddingOffset: boolean;
  architectures: string;
}

const flavours: Record<EncoderConfig['modelType'], Flavour> = {
  roberta: {
    base: 'roberta',
    head: {
      dense: 'lm_head.dense',
      norm: 'lm_head.layer_norm',
      decoder: 'lm_head.decoder',
      bias: 'lm_head.bias',
    },
    paddingOffset: true,
    architectures: 'RobertaForMaskedLM',
  },
  bert: {
    base: 'bert',
    head: {
      dense: 'cls.predictions.transform.dense',
      norm: 'cls.predictions.transform.LayerNorm',
      decoder: 'cls.predictions.decoder',
      bias: 'cls.predictions.bias',
    },
    paddingOffset: false,
    architectures: 'BertForMaskedLM',
  },
};

/** Added to the scores of padded keys: softmax gives them zero weight. */
const MASKED = -1e9;

const positive = z.number().int().positive();
const schema = z
  .object({
    model_type: z.enum(['roberta', 'bert']),
    vocab_size: positive,
    hidden_size: positive.default(768),
    num_hidden_layers: positive.default(12),
    num_attention_heads: positive.default(12),
    intermediate_size: positive.default(3072),
    hidden_act: z.string().default('gelu'),
    max_position_embeddings: positive.default(512),
    type_vocab_size: positive.default(2),
    layer_norm_eps: z.number().positive().default(1e-12),
    position_embedding_type: z.string().default('absolute'),
    is_decoder: z.boolean().default(false),
    tie_word_embeddings: z.boolean().default(true),
    bos_token_id: z.number().int().nullish(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    pad_token_id: z.number().int().nullish().default(0),
    torch_dtype: z.string().nullish(),
    dtype: z.string().nullish(),
  })
  .loose();

function parseConfig(raw: Record<string, unknown>, file: string): EncoderConfig {
  const c = parseWith(schema, raw, file);
  activationByName(c.hidden_act, file);
  if (c.position_embedding_type !== 'absolute' || c.is_decoder) {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file}: ${c.is_decoder ? 'is_decoder models' : `position_embedding_type "${c.position_embedding_type}"`} ` +
        `of ${c.model_type} are not supported; Whetstone runs the masked-LM encoder with absolute positions.`,
      'Pick a standard RoBERTa or BERT masked-LM checkpoint (roberta-base, bert-base-uncased, ...).',
    );
  }
  const headDim = c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim)) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}.`,
    );
  }
  const pad = c.pad_token_id ?? undefined;
  const offset = flavours[c.model_type].paddingOffset;
  if (offset && pad === undefined) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: a RoBERTa config needs pad_token_id: its positions count from it.`,
    );
  }
  return {
    family: 'encoder',
    modelType: c.model_type,
    vocabSize: c.vocab_size,
    hidden: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads: c.num_attention_heads,
    headDim,
    // RoBERTa's first padding_idx + 1 rows are never a real token's position.
    contextLength: c.max_position_embeddings - (offset ? pad! + 1 : 0),
    positionRows: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings,
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: eosList(c.eos_token_id),
    padTokenId: pad,
    torchDtype: c.torch_dtype ?? c.dtype ?? undefined,
    intermediate: c.intermediate_size,
    activation: c.hidden_act,
    layerNormEps: c.layer_norm_eps,
    typeVocabSize: c.type_vocab_size,
  };
}

/** Canonical tensor names of one config. */
function names(cfg: EncoderConfig) {
  const f = flavours[cfg.modelType];
  const e = `${f.base}.embeddings`;
  return {
    flavour: f,
    words: `${e}.word_embeddings.weight`,
    positions: `${e}.position_embeddings.weight`,
    types: `${e}.token_type_embeddings.weight`,
    embedNorm: `${e}.LayerNorm`,
    layer: (i: number) => `${f.base}.encoder.layer.${i}`,
    decoder: cfg.tieWordEmbeddings ? `${e}.word_embeddings.weight` : `${f.head.decoder}.weight`,
  };
}

function linearSpecs(cfg: EncoderConfig): LinearSpec[] {
  const n = names(cfg);
  const specs: LinearSpec[] = [];
  const add = (name: string, inFeatures: number, outFeatures: number) =>
    specs.push({ name, inFeatures, outFeatures, bias: true, layout: 'out-in' });
  for (let i = 0; i < cfg.layers; i++) {
    const p = n.layer(i);
    for (const proj of ['query', 'key', 'value'])
      add(`${p}.attention.self.${proj}`, cfg.hidden, cfg.hidden);
    add(`${p}.attention.output.dense`, cfg.hidden, cfg.hidden);
    add(`${p}.intermediate.dense`, cfg.hidden, cfg.intermediate);
    add(`${p}.output.dense`, cfg.intermediate, cfg.hidden);
  }
  add(n.flavour.head.dense, cfg.hidden, cfg.hidden);
  return specs;
}

function tensorShapes(cfg: EncoderConfig): Map<string, number[]> {
  const n = names(cfg);
  const c = cfg.hidden;
  const shapes = new Map<string, number[]>([
    [n.words, [cfg.vocabSize, c]],
    [n.positions, [cfg.positionRows, c]],
    [n.types, [cfg.typeVocabSize, c]],
  ]);
  const norms = [n.embedNorm, n.flavour.head.norm];
  for (let i = 0; i < cfg.layers; i++)
    norms.push(`${n.layer(i)}.attention.output.LayerNorm`, `${n.layer(i)}.output.LayerNorm`);
  for (const norm of norms) {
    shapes.set(`${norm}.weight`, [c]);
    shapes.set(`${norm}.bias`, [c]);
  }
  for (const spec of linearSpecs(cfg)) {
    shapes.set(`${spec.name}.weight`, linearWeightShape(spec));
    shapes.set(`${spec.name}.bias`, [spec.outFeatures]);
  }
  if (!cfg.tieWordEmbeddings) shapes.set(n.decoder, [cfg.vocabSize, c]);
  shapes.set(n.flavour.head.bias, [cfg.vocabSize]);
  return shapes;
}

class EncoderModel implements CausalLM {
  readonly objective = 'masked';
  private readonly linear: LinearFn;
  private readonly specs: Map<string, LinearSpec>;
  private readonly act: Activation;
  private readonly n: ReturnType<typeof names>;

  constructor(
    readonly config: EncoderConfig,
    readonly params: Params,
    opts: ModelOptions = {},
  ) {
    this.linear = opts.linear ?? denseLinear(params);
    this.specs = new Map(linearSpecs(config).map((s) => [s.name, s]));
    this.act = activationByName(config.activation, 'config.json');
    this.n = names(config);
  }

  keyMask(ids: Tensor2D): Tensor2D {
    const pad = this.config.padTokenId;
    return tf.tidy(() =>
      pad === undefined
        ? tf.cast(tf.onesLike(ids), 'float32')
        : tf.cast(tf.notEqual<Tensor2D>(ids, pad), 'float32'),
    );
  }

  /**
   * Position ids of `ids` after `offset` earlier positions (virtual tokens). RoBERTa's are
   * padding_idx + offset + (count of real tokens so far), and padding_idx on padding, as
   * transformers' create_position_ids_from_input_ids computes them.
   */
  positionIds(ids: Tensor2D, offset = 0): Tensor2D {
    const t = ids.shape[1];
    this.checkLength(offset + t);
    if (!this.n.flavour.paddingOffset) {
      return tf.tidy(() =>
        tf.tile(tf.expandDims<Tensor2D>(tf.range(offset, offset + t, 1, 'int32'), 0), [
          ids.shape[0],
          1,
        ]),
      );
    }
    const pad = this.config.padTokenId!;
    return tf.tidy(() => {
      const real = tf.cast(tf.notEqual(ids, pad), 'int32');
      const counted = tf.mul(tf.add(tf.cumsum(real, 1), tf.scalar(offset, 'int32')), real);
      return tf.add<Tensor2D>(counted, tf.scalar(pad, 'int32'));
    });
  }

  embed(ids: Tensor2D, offset = 0): Tensor3D {
    return tf.tidy(() => {
      const positions = tf.gather(this.params.get(this.n.positions), this.positionIds(ids, offset));
      return this.finishEmbedding(this.tokenEmbeddings(ids), positions);
    });
  }

  tokenEmbeddings(ids: Tensor2D): Tensor3D {
    return tf.gather(this.params.get(this.n.words), ids) as Tensor3D; // [B, T, C]
  }

  /** Vectors without ids (prompt tuning) sit at consecutive positions, as transformers places inputs_embeds. */
  embedVectors(x: Tensor3D, offset = 0): Tensor3D {
    const t = x.shape[1];
    this.checkLength(offset + t);
    const shift = this.n.flavour.paddingOffset ? this.config.padTokenId! + 1 : 0;
    return tf.tidy(() =>
      this.finishEmbedding(x, positionRows(this.params.get(this.n.positions), offset, t, shift)),
    );
  }

  private finishEmbedding(tokens: Tensor3D, positions: Tensor): Tensor3D {
    // Every token has token type 0 (single-segment inputs, as the tokenizer's default).
    const type0 = tf.slice(this.params.get(this.n.types), [0, 0], [1, this.config.hidden]);
    return this.norm(this.n.embedNorm, tf.add(tf.add(tokens, positions), type0));
  }

  private checkLength(length: number): void {
    if (length > this.config.contextLength) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `The sequence is ${length} tokens long, past the model's ${this.config.contextLength} positions.`,
        'Use shorter texts (truncate them).',
      );
    }
  }

  block(index: number, h: Tensor3D, cache?: KVCache, keys?: Tensor2D): Tensor3D {
    const p = this.n.layer(index);
    return tf.tidy(() => {
      const attended = this.project(
        `${p}.attention.output.dense`,
        this.attention(index, h, cache, keys),
      );
      const x = this.norm(`${p}.attention.output.LayerNorm`, tf.add(attended, h));
      const inner = this.act(this.project(`${p}.intermediate.dense`, x)) as Tensor3D; // [B, T, F]
      return this.norm(
        `${p}.output.LayerNorm`,
        tf.add(this.project(`${p}.output.dense`, inner), x),
      );
    });
  }

  /** Self-attention over every key that is not padding: [B, T, C] -> [B, T, C]. */
  private attention(index: number, x: Tensor3D, cache?: KVCache, keys?: Tensor2D): Tensor3D {
    const p = `${this.n.layer(index)}.attention.self`;
    const heads = this.config.heads;
    const [b, t, c] = x.shape;
    const q = splitHeads(this.project(`${p}.query`, x), heads); // [B, H, T, D]
    let k = splitHeads(this.project(`${p}.key`, x), heads);
    let v = splitHeads(this.project(`${p}.value`, x), heads);
    if (cache) ({ k, v } = cache.write(index, k, v)); // virtual tokens' keys come first
    const s = k.shape[2];
    let scores: Tensor = tf.matMul(tf.mul(q, 1 / Math.sqrt(this.config.headDim)), k, false, true);
    if (keys) {
      // keys covers the last T keys; any before them are virtual tokens, always attended.
      const seen = s > keys.shape[1] ? tf.concat([tf.ones([b, s - keys.shape[1]]), keys], 1) : keys;
      const additive = tf.mul(tf.sub(1, seen), MASKED); // [B, S]
      scores = tf.add(scores, tf.reshape(additive, [b, 1, 1, s]));
    }
    const probs = tf.softmax(scores as Tensor4D); // [B, H, T, S]
    const out = tf.matMul(probs, v); // [B, H, T, D]
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, c]);
  }

  head(h: Tensor3D): Tensor3D {
    const f = this.n.flavour.head;
    return tf.tidy(() => {
      const x = this.norm(f.norm, this.act(this.project(f.dense, h)) as Tensor3D);
      const [b, t, c] = x.shape;
      const w = this.params.get(this.n.decoder) as Tensor2D;
      const logits = tf.add(
        tf.matMul(tf.reshape(x, [b * t, c]), w, false, true),
        this.params.get(f.bias),
      );
      return tf.reshape(logits, [b, t, this.config.vocabSize]);
    });
  }

  partParams(part: ModelPart): string[] {
    const names = this.params.names();
    const embeddings = `${this.n.flavour.base}.embeddings.`;
    if (part === 'embed') return names.filter((n) => n.startsWith(embeddings));
    if (part === 'head') {
      const f = this.n.flavour.head;
      const head = names.filter(
        (n) => n.startsWith(`${f.dense}.`) || n.startsWith(`${f.norm}.`) || n === f.bias,
      );
      return [...head, this.n.decoder];
    }
    return names.filter((n) => n.startsWith(`${this.n.layer(part)}.`));
  }

  linearSpecs(): LinearSpec[] {
    return [...this.specs.values()];
  }

  dispose(): void {}

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

/**
 * Checkpoints keep one copy of tied tensors: the output bias may be stored as the decoder's
 * (`lm_head.decoder.bias`, `cls.predictions.decoder.bias`) rather than the head's own.
 */
function storedName(available: ReadonlySet<string>): (canonical: string) => string {
  const aliases = new Map(
    Object.values(flavours).map((f) => [f.head.bias, `${f.head.decoder}.bias`] as const),
  );
  return (name) => {
    const alias = aliases.get(name);
    return alias !== undefined && !available.has(name) && available.has(alias) ? alias : name;
  };
}

function fixtureConfig(s: FixtureShape): Record<string, unknown> {
  const roberta = s.modelType === 'roberta';
  const pad = s.padTokenId ?? 0;
  return {
    architectures: [flavours[roberta ? 'roberta' : 'bert'].architectures],
    model_type: s.modelType,
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: 4 * s.hidden,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    // RoBERTa's table has padding_idx + 1 extra rows before the first real position.
    max_position_embeddings: s.contextLength + (roberta ? pad + 1 : 0),
    type_vocab_size: roberta ? 1 : 2,
    initializer_range: 0.02,
    layer_norm_eps: roberta ? 1e-5 : 1e-12,
    position_embedding_type: 'absolute',
    ...(s.bosTokenId !== undefined && { bos_token_id: s.bosTokenId }),
    eos_token_id: s.eosTokenId,
    pad_token_id: pad,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
  };
}

export const encoder: Architecture<EncoderConfig> = {
  modelTypes: ['roberta', 'bert'],
  parseConfig,
  tensorShapes,
  storedName,
  create: (cfg, params, opts) => new EncoderModel(cfg, params, opts),
  fixtureConfig,
};
