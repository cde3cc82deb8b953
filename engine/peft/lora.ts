// LoRA (arXiv 2106.09685): y = W x + s·B A x with A [r, in], B [out, r] and s = α/r (α/√r for
// rsLoRA). The adapter weights are model parameters named `<module>.lora_A.weight` and
// `.lora_B.weight`, so every method that trains "the trainable variables" trains them, and a
// block's partParams (its name prefix) includes them for LOMO's block-wise backward.
import { tf, type Tensor2D } from '../backend/tf.js';
import type { LinearFn, LinearSpec } from '../models/layers/linear.js';
import type { Params } from '../models/params.js';
import { initSeed, loraScale, type LoraOptions } from './config.js';

export const loraA = (module: string) => `${module}.lora_A.weight`;
export const loraB = (module: string) => `${module}.lora_B.weight`;
export const isAdapterParam = (name: string) => /\.lora_[AB]\.weight$/.test(name);

/** One adapted module and its scale. */
export interface LoraModule {
  spec: LinearSpec;
  scale: number;
}

/**
 * Add A and B for every target, initialised as PEFT does: A Kaiming-uniform with a = √5 (bound
 * 1/√in), B zeros, so the adapted model starts equal to the base.
 */
export function addLoraParams(
  params: Params,
  targets: LinearSpec[],
  o: LoraOptions,
  seed: number,
): Map<string, LoraModule> {
  const modules = new Map<string, LoraModule>();
  const scale = loraScale(o);
  for (const [i, spec] of targets.entries()) {
    const bound = 1 / Math.sqrt(spec.inFeatures);
    params.add(
      loraA(spec.name),
      tf.randomUniform([o.r, spec.inFeatures], -bound, bound, 'float32', initSeed(seed, i)),
    );
    params.add(loraB(spec.name), tf.zeros([spec.outFeatures, o.r]));
    modules.set(spec.name, { spec, scale });
  }
  return modules;
}

/** Whether LoRA dropout is active (backprop training only; ZO and evaluation run without). */
export interface DropoutSwitch {
  training: boolean;
}

/** Wrap `base` so adapted modules add s·(dropout(x) Aᵀ) Bᵀ: x [N, in] -> [N, out]. */
export function loraLinear(
  params: Params,
  base: LinearFn,
  modules: Map<string, LoraModule>,
  dropout: number,
  mode: DropoutSwitch,
): LinearFn {
  return (spec, x) => {
    const y = base(spec, x);
    const m = modules.get(spec.name);
    if (!m) return y;
    return tf.tidy(() => {
      const xin = dropout > 0 && mode.training ? tf.dropout(x, dropout) : x;
      const down = tf.matMul<Tensor2D>(xin, params.get(loraA(spec.name)), false, true); // [N, r]
      // Scaling B ([out, r]) rather than the product ([N, out]) keeps one fewer [N, out] tensor.
      const scaledB = tf.mul<Tensor2D>(params.get(loraB(spec.name)), m.scale); // [out, r]
      return tf.add<Tensor2D>(y, tf.matMul<Tensor2D>(down, scaledB, false, true)); // [N, out]
    });
  };
}

/** ΔW = s·B A in the checkpoint's layout of the module ([out, in], or [in, out] for Conv1D). */
export function loraDelta(params: Params, m: LoraModule): tf.Tensor2D {
  return tf.tidy(() => {
    const delta = tf.mul<Tensor2D>(
      tf.matMul(params.get(loraB(m.spec.name)), params.get(loraA(m.spec.name))),
      m.scale,
    ); // [out, in]
    return m.spec.layout === 'out-in' ? delta : tf.transpose(delta);
  });
}
