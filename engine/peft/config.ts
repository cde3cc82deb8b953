// PEFT options as a run states them, and which linear modules an adapter targets: per-architecture
// defaults (PEFT's own: q and v projections, GPT-2's fused c_attn), an explicit list of module
// names, or every linear layer but the LM head (what QLoRA does).
import { WhetstoneError } from '../errors.js';
import { blockOf, type LinearSpec } from '../models/layers/linear.js';
import { LORA_DEFAULTS } from '../../common/defaults.js';
import type { PeftKind } from '../../common/methods.js';

export type { PeftKind };
export { LORA_DEFAULTS };

export interface LoraOptions {
  r: number;
  alpha: number;
  dropout: number;
  /** Scale by alpha/√r instead of alpha/r (rsLoRA). */
  rslora: boolean;
  /** Module name suffixes (`q_proj`, `attn.c_attn`), or ['all-linear']. */
  targets: string[];
}

/** PEFT's default target modules per model_type (its TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES). */
const DEFAULT_TARGETS: Record<string, string[]> = {
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  opt: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  roberta: ['query', 'value'],
  bert: ['query', 'value'],
};

/**
 * adapter_config.json's task_type for a model. PEFT has no masked-LM task: FEATURE_EXTRACTION is
 * the one whose PeftModel applies every adapter kind (prompts included) and passes everything
 * else to the base model, so `PeftModel.from_pretrained(RobertaForMaskedLM..., dir)` gives the
 * run's logits.
 */
export function peftTaskType(objective: 'causal' | 'masked'): 'CAUSAL_LM' | 'FEATURE_EXTRACTION' {
  return objective === 'causal' ? 'CAUSAL_LM' : 'FEATURE_EXTRACTION';
}

export function defaultTargets(modelType: string, kind: PeftKind): string[] {
  if (kind === 'qlora') return ['all-linear'];
  return DEFAULT_TARGETS[modelType] ?? ['all-linear'];
}

/** The modules `targets` selects. A name matches when it equals a target or ends with `.target`. */
export function selectTargets(specs: LinearSpec[], targets: string[]): LinearSpec[] {
  // project_in/out of OPT are embedding projections, not layers; "all-linear" leaves them out.
  // The masked-LM heads' dense layer is one PEFT's all-linear takes (only the decoder is not).
  const layer = (s: LinearSpec) =>
    blockOf(s.name) !== undefined ||
    /^(lm_head\.dense|cls\.predictions\.transform\.dense)$/.test(s.name);
  const chosen = targets.includes('all-linear')
    ? specs.filter(layer)
    : specs.filter((s) => targets.some((t) => s.name === t || s.name.endsWith(`.${t}`)));
  if (chosen.length === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `No linear module matches --lora-targets ${targets.join(',')}.`,
      `Modules of this model end with: ${[...new Set(specs.map((s) => s.name.split('.').slice(-1)[0]))].join(', ')} (or use all-linear).`,
    );
  }
  return chosen;
}

/**
 * The seed of one adapter tensor's initialisation. Always odd: tfjs's randomNormal draws an
 * unseeded (irreproducible) stream for seed 0, and run seeds start at 0.
 */
export const initSeed = (runSeed: number, index: number): number =>
  2 * (runSeed * 7919 + index) + 1;

/** LoRA options from a job's fields (`loraTargets` comma-separated). */
export function loraFields(f: {
  loraR?: number | undefined;
  loraAlpha?: number | undefined;
  loraDropout?: number | undefined;
  loraTargets?: string | undefined;
  rslora?: boolean | undefined;
}): Partial<LoraOptions> {
  return {
    ...(f.loraR !== undefined && { r: f.loraR }),
    ...(f.loraAlpha !== undefined && { alpha: f.loraAlpha }),
    ...(f.loraDropout !== undefined && { dropout: f.loraDropout }),
    ...(f.loraTargets !== undefined && {
      targets: f.loraTargets
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    }),
    ...(f.rslora !== undefined && { rslora: f.rslora }),
  };
}

/** The factor the adapter's product is scaled by. */
export function loraScale(o: Pick<LoraOptions, 'r' | 'alpha' | 'rslora'>): number {
  return o.rslora ? o.alpha / Math.sqrt(o.r) : o.alpha / o.r;
}
