// Defaults a run takes when a field is left out: learning rate and μ per method and adapter kind,
// and each adapter's own settings. The engine applies them and the studio shows them, so both
// read them here.
import { isZerothOrder, type MethodName, type PeftKind, type PromptKind } from './methods.js';

/**
 * Learning rates when none is given: the papers' values for full fine-tuning (the zeroth-order
 * ones are MeZO's for OPT-13B, docs/methods.md#default-learning-rates-and-μ; small models take
 * larger rates).
 */
export const DEFAULT_LR: Record<MethodName, number> = {
  'fo-sgd': 1e-2,
  'fo-adamw': 1e-4,
  lomo: 1e-2,
  adalomo: 1e-3,
  'zo-sgd': 1e-6,
  'zo-sign': 1e-6,
  'zo-mmt': 1e-6,
  'zo-cons': 1e-6,
  'zo-adam': 1e-5,
  'forward-grad': 1e-6,
};

/** The zeroth-order perturbation scale μ of full fine-tuning (MeZO). */
export const DEFAULT_ZO_EPS = 1e-3;

/**
 * Adapters train a few parameters of larger effect, and take larger steps. Zeroth-order methods
 * take MeZO's PEFT settings (docs/methods.md#default-learning-rates-and-μ): LoRA at 50× the full fine-tuning rate (1e-6 → 5e-5)
 * with μ 1e-2, prefix tuning at 10⁴× (→ 1e-2) with μ 1e-1, every zeroth-order method scaled
 * alike. FO-AdamW takes PEFT's guides' rates for prompt (3e-2) and prefix tuning (1e-2); other
 * backprop methods keep theirs.
 */
export const ADAPTER_RATES: Record<
  PeftKind,
  { zoLrScale: number; zoEps: number; adamwLr?: number }
> = {
  full: { zoLrScale: 1, zoEps: DEFAULT_ZO_EPS },
  lora: { zoLrScale: 50, zoEps: 1e-2 },
  qlora: { zoLrScale: 50, zoEps: 1e-2 },
  adalora: { zoLrScale: 50, zoEps: 1e-2 },
  prefix: { zoLrScale: 1e4, zoEps: 1e-1, adamwLr: 1e-2 },
  prompt: { zoLrScale: 1e4, zoEps: 1e-1, adamwLr: 3e-2 },
};

/** The learning rate a run takes when none is given. */
export function defaultLr(method: MethodName, peft: PeftKind = 'full'): number {
  const d = ADAPTER_RATES[peft];
  if (method === 'fo-adamw' && d.adamwLr !== undefined) return d.adamwLr;
  return DEFAULT_LR[method] * (isZerothOrder(method) ? d.zoLrScale : 1);
}

/** The zeroth-order perturbation scale μ a run takes when none is given. */
export const defaultZoEps = (peft: PeftKind = 'full'): number => ADAPTER_RATES[peft].zoEps;

/** LoRA's paper defaults (Hu et al. 2021); targets default per architecture in the engine. */
export const LORA_DEFAULTS = { r: 8, alpha: 16, dropout: 0, rslora: false } as const;

/** AdaLoRA's (Zhang et al. 2023; PEFT's AdaLoraConfig). */
export const ADALORA_DEFAULTS = {
  initR: 12,
  targetR: 8,
  deltaT: 10,
  orthReg: 0.5,
  beta1: 0.85,
  beta2: 0.85,
} as const;

/** Virtual tokens of prefix (Li & Liang 2021) and prompt tuning (Lester et al. 2021). */
export const VIRTUAL_TOKEN_DEFAULTS: Record<PromptKind, number> = { prompt: 20, prefix: 5 };
