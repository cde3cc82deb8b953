// The architecture keys llama.cpp reads for each supported model: every shape, rope and norm
// constant is written explicitly (llama.cpp defaults some missing ones silently and wrongly, e.g.
// head_count_kv or rope.freq_base). Models llama.cpp cannot run are refused here.
import { WhetstoneError } from '../../errors.js';
import type { ModelConfig } from '../../models/config.js';
import type { Gpt2Config } from '../../models/gpt2.js';
import type { LlamaConfig } from '../../models/llama.js';
import type { GgufMetadata } from './writer.js';

/** llama.cpp's architecture name for a config: llama (Llama, Mistral), qwen2 or gpt2. */
export function ggufArchitecture(cfg: ModelConfig): 'llama' | 'qwen2' | 'gpt2' {
  if (cfg.family === 'gpt2') return 'gpt2';
  if (cfg.family === 'llama') return cfg.modelType === 'qwen2' ? 'qwen2' : 'llama';
  throw new WhetstoneError(
    'MODEL_UNSUPPORTED',
    `GGUF export does not support model_type "${cfg.modelType}": llama.cpp has no ${cfg.modelType.toUpperCase()} architecture.`,
    'Export it as a Hugging Face folder (--format merged) instead, or pick a Llama, Mistral, Qwen2 or GPT-2 model.',
  );
}

/**
 * The `<arch>.*` keys for `cfg`. The vocabulary size is not among them: llama.cpp takes it from
 * the token list, so a key could only disagree with it.
 */
export function architectureMetadata(cfg: ModelConfig): GgufMetadata {
  const arch = ggufArchitecture(cfg);
  const m: GgufMetadata = new Map();
  const u32 = (key: string, value: number) => m.set(`${arch}.${key}`, { type: 'u32', value });
  const f32 = (key: string, value: number) => m.set(`${arch}.${key}`, { type: 'f32', value });
  if (cfg.family === 'gpt2') {
    refuseGpt2Variants(cfg);
    u32('context_length', cfg.contextLength);
    u32('embedding_length', cfg.hidden);
    u32('feed_forward_length', cfg.inner);
    u32('block_count', cfg.layers);
    u32('attention.head_count', cfg.heads);
    f32('attention.layer_norm_epsilon', cfg.layerNormEps);
    return m;
  }
  const c = cfg as LlamaConfig;
  refuseLlamaVariants(c, arch);
  u32('context_length', llamaContext(c));
  u32('embedding_length', c.hidden);
  u32('feed_forward_length', c.intermediate);
  u32('block_count', c.layers);
  u32('attention.head_count', c.heads);
  u32('attention.head_count_kv', c.kvHeads);
  u32('attention.key_length', c.headDim);
  u32('attention.value_length', c.headDim);
  u32('rope.dimension_count', c.headDim);
  f32('rope.freq_base', c.rope.theta);
  f32('attention.layer_norm_rms_epsilon', c.rmsNormEps);
  const s = c.rope.scaling;
  if (s?.type === 'linear') {
    m.set(`${arch}.rope.scaling.type`, { type: 'string', value: 'linear' });
    f32('rope.scaling.factor', s.factor);
  }
  // llama3 scaling travels as the rope_freqs tensor (tensors-llama.ts).
  return m;
}

/**
 * llama.cpp's llama architecture attends to the whole context; Mistral's sliding window only to
 * the last `window` tokens. Within the window both agree, so the file promises no more.
 */
function llamaContext(c: LlamaConfig): number {
  const windows = c.windows.filter((w): w is number => w !== undefined);
  return Math.min(c.contextLength, ...windows);
}

function refuseLlamaVariants(c: LlamaConfig, arch: string): void {
  const refuse = (what: string) => {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `GGUF export: this ${c.modelType} model ${what}, which llama.cpp's ${arch} architecture does not run.`,
      'Export it as a Hugging Face folder (--format merged) instead.',
    );
  };
  if (c.hiddenAct !== 'silu') refuse(`uses the ${c.hiddenAct} activation (llama.cpp: SiLU)`);
  if (c.rope.scaling?.type === 'dynamic') refuse('uses dynamic NTK rope scaling');
  if (c.mlpBias) refuse('has MLP biases');
  if (arch === 'qwen2' && (c.outBias || !c.qkvBias)) refuse('has other biases than q/k/v');
  if (arch === 'llama' && c.qkvBias !== c.outBias) refuse('has biases on part of attention only');
  // llama.cpp's qwen2 sizes q and o as hidden x hidden.
  if (arch === 'qwen2' && c.heads * c.headDim !== c.hidden) {
    refuse(`has ${c.heads} heads of size ${c.headDim} in a width of ${c.hidden}`);
  }
  if (arch === 'qwen2' && c.windows.some((w) => w !== undefined)) {
    refuse('uses a sliding attention window on some layers');
  }
}

function refuseGpt2Variants(c: Gpt2Config): void {
  const refuse = (what: string) => {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `GGUF export: this GPT-2 model ${what}, which llama.cpp's gpt2 architecture does not run.`,
      'Export it as a Hugging Face folder (--format merged) instead.',
    );
  };
  if (c.activation !== 'gelu_new' && c.activation !== 'gelu_pytorch_tanh') {
    refuse(`uses the ${c.activation} activation (llama.cpp: tanh-approximated GELU)`);
  }
  if (!c.scaleAttnWeights || c.scaleAttnByInverseLayerIdx) refuse('scales attention differently');
}
