// AdaLoRA (arXiv 2303.10512) as PEFT's AdaLoraLayer computes it: ΔW = s·P diag(λ ⊙ mask) Q with
// Q [r, in] (`lora_A`), P [out, r] (`lora_B`), λ [r, 1] (`lora_E`) and s = α / (init_r + 1e-5)
// (PEFT's scaling / ranknum, where ranknum stays the initial rank after pruning). The mask holds
// the ranks the budget keeps; pruned λ are zeroed and the mask keeps them out of the forward.
import { ADALORA_DEFAULTS } from '../../common/defaults.js';
import { tf, type Tensor2D } from '../backend/tf.js';
import type { LinearFn, LinearSpec } from '../models/layers/linear.js';
import type { Params } from '../models/params.js';
import type { DropoutSwitch, LoraModule } from './lora.js';
import { initSeed } from './config.js';

export const adaQ = (module: string) => `${module}.lora_A`;
export const adaP = (module: string) => `${module}.lora_B`;
export const adaE = (module: string) => `${module}.lora_E`;
export const isAdaLoraParam = (name: string) => /\.lora_[ABE]$/.test(name);
/** The key PEFT's rank_pattern uses for a module. */
export const patternKey = (module: string) => `${module}.lora_E`;

export interface AdaLoraOptions {
  /** Rank every matrix starts with. */
  initR: number;
  /** Average rank the budget ends at. */
  targetR: number;
  /** Steps before pruning starts; undefined: 10% of the run's steps. */
  tinit?: number;
  /** Final steps at the target budget; undefined: 30% of the run's steps. */
  tfinal?: number;
  /** Steps between budget allocations. */
  deltaT: number;
  /** Weight of the orthogonality regulariser. */
  orthReg: number;
  beta1: number;
  beta2: number;
  /** The run's step count the schedule was laid out for (known once training starts). */
  totalStep?: number;
}

export { ADALORA_DEFAULTS };

/** AdaLoRA options from a job's fields. */
export function adaloraOptions(f: {
  adaloraInitR?: number | undefined;
  adaloraTargetR?: number | undefined;
  adaloraTinit?: number | undefined;
  adaloraTfinal?: number | undefined;
  adaloraDeltaT?: number | undefined;
  adaloraOrthReg?: number | undefined;
}): AdaLoraOptions {
  return {
    ...ADALORA_DEFAULTS,
    ...(f.adaloraInitR !== undefined && { initR: f.adaloraInitR }),
    ...(f.adaloraTargetR !== undefined && { targetR: f.adaloraTargetR }),
    ...(f.adaloraTinit !== undefined && { tinit: f.adaloraTinit }),
    ...(f.adaloraTfinal !== undefined && { tfinal: f.adaloraTfinal }),
    ...(f.adaloraDeltaT !== undefined && { deltaT: f.adaloraDeltaT }),
    ...(f.adaloraOrthReg !== undefined && { orthReg: f.adaloraOrthReg }),
  };
}

export const adaloraScale = (alpha: number, initR: number) => alpha / (initR + 1e-5);

export interface AdaLoraModule extends LoraModule {
  /** Which of the init_r ranks the budget keeps (PEFT's rank_pattern entry). */
  pattern: boolean[];
  /** The pattern as a [r, 1] float tensor for the forward. */
  mask: Tensor2D;
}

export interface AdaLoraModel {
  options: AdaLoraOptions;
  modules: Map<string, AdaLoraModule>;
}

/** Add Q, P ~ N(0, 0.02) and λ = 0 for every target, as PEFT initialises them. */
export function addAdaLoraParams(
  params: Params,
  targets: LinearSpec[],
  o: AdaLoraOptions,
  alpha: number,
  seed: number,
): AdaLoraModel {
  const modules = new Map<string, AdaLoraModule>();
  const scale = adaloraScale(alpha, o.initR);
  for (const [i, spec] of targets.entries()) {
    const s = initSeed(seed, 2 * i);
    params.add(adaQ(spec.name), tf.randomNormal([o.initR, spec.inFeatures], 0, 0.02, 'float32', s));
    params.add(
      adaP(spec.name),
      tf.randomNormal([spec.outFeatures, o.initR], 0, 0.02, 'float32', initSeed(seed, 2 * i + 1)),
    );
    params.add(adaE(spec.name), tf.zeros([o.initR, 1]));
    const pattern = Array.from({ length: o.initR }, () => true);
    modules.set(spec.name, { spec, scale, pattern, mask: tf.ones([o.initR, 1]) });
  }
  return { options: { ...o }, modules };
}

/** Set a module's kept ranks: the mask follows, and the pruned λ are zeroed. */
export function setPattern(params: Params, m: AdaLoraModule, pattern: boolean[]): void {
  if (pattern.length !== m.pattern.length) {
    throw new Error(
      `rank pattern of ${m.spec.name}: ${pattern.length} entries, not ${m.pattern.length}`,
    );
  }
  m.pattern = [...pattern];
  m.mask.dispose();
  m.mask = tf.tensor2d(
    pattern.map((k) => (k ? 1 : 0)),
    [pattern.length, 1],
  );
  zeroPruned(params, m);
}

/** λ ← λ ⊙ mask: pruned singular values stay exactly zero whatever the optimizer did. */
export function zeroPruned(params: Params, m: AdaLoraModule): void {
  if (m.pattern.every(Boolean)) return;
  const e = params.get(adaE(m.spec.name));
  tf.tidy(() => e.assign(tf.mul(e, m.mask)));
}

/** The rank pattern as PEFT records it: `<module>.lora_E` → kept flags. */
export function rankPattern(model: AdaLoraModel): Record<string, boolean[]> {
  return Object.fromEntries(
    [...model.modules].map(([name, m]) => [patternKey(name), [...m.pattern]]),
  );
}

export function disposeAdaLora(model: AdaLoraModel): void {
  for (const m of model.modules.values()) m.mask.dispose();
}

/** s·P diag(λ ⊙ mask) as [out, r]: the product's right factor with the scale folded in. */
function scaledP(params: Params, m: AdaLoraModule): Tensor2D {
  const e = tf.mul(params.get(adaE(m.spec.name)), m.mask); // [r, 1]
  return tf.mul<Tensor2D>(params.get(adaP(m.spec.name)), tf.mul(tf.transpose(e), m.scale));
}

/** Wrap `base` so adapted modules add (dropout(x) Qᵀ)(s·P diag(λ))ᵀ: x [N, in] -> [N, out]. */
export function adaloraLinear(
  params: Params,
  base: LinearFn,
  model: AdaLoraModel,
  dropout: number,
  mode: DropoutSwitch,
): LinearFn {
  return (spec, x) => {
    const y = base(spec, x);
    const m = model.modules.get(spec.name);
    if (!m) return y;
    return tf.tidy(() => {
      const xin = dropout > 0 && mode.training ? tf.dropout(x, dropout) : x;
      const down = tf.matMul<Tensor2D>(xin, params.get(adaQ(spec.name)), false, true); // [N, r]
      return tf.add<Tensor2D>(y, tf.matMul<Tensor2D>(down, scaledP(params, m), false, true));
    });
  };
}

/** ΔW = s·P diag(λ ⊙ mask) Q in the checkpoint's layout ([out, in], or [in, out] for Conv1D). */
export function adaloraDelta(params: Params, m: AdaLoraModule): Tensor2D {
  return tf.tidy(() => {
    const delta = tf.matMul<Tensor2D>(scaledP(params, m), params.get(adaQ(m.spec.name)));
    return m.spec.layout === 'out-in' ? delta : tf.transpose(delta);
  });
}
