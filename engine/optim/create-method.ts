// One place that turns a method name and its options into a TrainMethod, for the train job,
// the benchmarks and the tests alike.
import { WhetstoneError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { FoMethod } from './fo.js';
import { ForwardGradMethod } from './forward-grad.js';
import { LomoMethod } from './lomo.js';
import type { PeftKind } from '../peft/config.js';
import { isZerothOrder } from '../protocol.js';
import type { MethodName, StepHooks, TrainMethod } from './method.js';
import { ZO_DEFAULTS, ZoMethod } from './zo.js';

export interface MethodConfig {
  method: MethodName;
  weightDecay?: number;
  /** FO methods: recompute activations block by block. */
  recompute?: boolean;
  maxGradNorm?: number;
  clipValue?: number;
  gradAccum?: number;
  /** Default: defaultZoEps(peft). */
  zoEps?: number;
  /** What trains; it sets the zeroth-order perturbation's default scale. */
  peft?: PeftKind;
  zoQueries?: number;
  zoOneSided?: boolean;
  zoSignForm?: 'projected' | 'elementwise';
  seed?: number;
  /** Adapter hooks (AdaLoRA's regulariser and importance observer). */
  hooks?: StepHooks;
  /** fo-adamw: moments in host memory (decided from --paged-optim by decidePaging). */
  pagedOptim?: boolean;
}

/**
 * Learning rates when none is given: the papers' values for full fine-tuning (the zeroth-order
 * ones are MeZO's for OPT-13B, REFERENCE.md; small models take larger rates).
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

/**
 * Adapters train a few parameters of larger effect, and take larger steps. Zeroth-order methods
 * take MeZO's PEFT settings (REFERENCE.md): LoRA at 50× the full fine-tuning rate (1e-6 → 5e-5)
 * with μ 1e-2, prefix tuning at 10⁴× (→ 1e-2) with μ 1e-1, every zeroth-order method scaled
 * alike. FO-AdamW takes PEFT's guides' rates for prompt (3e-2) and prefix tuning (1e-2); other
 * backprop methods keep theirs.
 */
const ADAPTER_DEFAULTS: Record<PeftKind, { zoLrScale: number; eps: number; adamwLr?: number }> = {
  full: { zoLrScale: 1, eps: ZO_DEFAULTS.zoEps },
  lora: { zoLrScale: 50, eps: 1e-2 },
  qlora: { zoLrScale: 50, eps: 1e-2 },
  adalora: { zoLrScale: 50, eps: 1e-2 },
  prefix: { zoLrScale: 1e4, eps: 1e-1, adamwLr: 1e-2 },
  prompt: { zoLrScale: 1e4, eps: 1e-1, adamwLr: 3e-2 },
};

/** The learning rate a run takes when none is given. */
export function defaultLr(method: MethodName, peft: PeftKind = 'full'): number {
  const d = ADAPTER_DEFAULTS[peft];
  if (method === 'fo-adamw' && d.adamwLr !== undefined) return d.adamwLr;
  return DEFAULT_LR[method] * (isZerothOrder(method) ? d.zoLrScale : 1);
}

/** The zeroth-order perturbation scale μ a run takes when none is given. */
export const defaultZoEps = (peft: PeftKind = 'full'): number => ADAPTER_DEFAULTS[peft].eps;

export function createMethod(model: CausalLM, c: MethodConfig): TrainMethod {
  const weightDecay = c.weightDecay ?? 0;
  const clip = {
    ...(c.maxGradNorm !== undefined && { maxGradNorm: c.maxGradNorm }),
    ...(c.clipValue !== undefined && { clipValue: c.clipValue }),
  };
  const hooks = c.hooks && { hooks: c.hooks };
  switch (c.method) {
    case 'lomo':
    case 'adalomo':
      if ((c.gradAccum ?? 1) > 1) {
        throw new WhetstoneError(
          'BAD_ARGUMENT',
          `${c.method} updates during backprop and cannot accumulate gradients.`,
          'Drop --grad-accum and raise --batch instead.',
        );
      }
      return new LomoMethod(c.method, model, { weightDecay, ...clip, ...hooks });
    case 'fo-sgd':
    case 'fo-adamw':
      return new FoMethod(c.method, model, {
        weightDecay,
        recompute: c.recompute ?? false,
        pagedOptim: c.pagedOptim ?? false,
        ...clip,
        ...hooks,
      });
  }
  if (c.maxGradNorm !== undefined || c.clipValue !== undefined) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${c.method} estimates one projected gradient per direction, so gradient clipping does not apply.`,
      'Drop --max-grad-norm and --clip-value; lower --lr or --zo-eps if steps are too large.',
    );
  }
  switch (c.method) {
    case 'forward-grad':
      return new ForwardGradMethod(model, {
        weightDecay,
        zoQueries: c.zoQueries ?? ZO_DEFAULTS.zoQueries,
        seed: c.seed ?? 0,
        ...hooks,
      });
    default:
      return new ZoMethod(c.method, model, {
        zoEps: c.zoEps ?? defaultZoEps(c.peft),
        zoQueries: c.zoQueries ?? ZO_DEFAULTS.zoQueries,
        zoOneSided: c.zoOneSided ?? ZO_DEFAULTS.zoOneSided,
        zoSignForm: c.zoSignForm ?? ZO_DEFAULTS.zoSignForm,
        weightDecay,
        seed: c.seed ?? 0,
        ...hooks,
      });
  }
}
