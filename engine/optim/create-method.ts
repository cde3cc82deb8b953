// One place that turns a method name and its options into a TrainMethod, for the train job,
// the benchmarks and the tests alike.
import { WhetstoneError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { FoMethod } from './fo.js';
import { ForwardGradMethod } from './forward-grad.js';
import { LomoMethod } from './lomo.js';
import { defaultZoEps } from '../../common/defaults.js';
import type { PeftKind } from '../peft/config.js';
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
