// The zeroth-order family (MeZO arXiv 2305.17333; ZO-Bench arXiv 2402.11592): gradients estimated
// from forward passes only, ĝ = (1/q) Σᵢ gᵢ·zᵢ with gᵢ = (f(θ+μzᵢ) − f(θ−μzᵢ)) / 2μ (or one-sided
// (f(θ+μzᵢ) − f(θ)) / μ). zᵢ is never stored: it is regenerated from its seed, tensor by tensor,
// for the perturbation, the restore and the update (docs/methods.md#the-zeroth-order-family).
//   zo-sgd   θ ← θ − η ĝ
//   zo-sign  θ ← θ − η sign(gᵢ)·zᵢ (projected, ZO-Bench's code) or sign(gᵢ)·sign(zᵢ) (element-wise)
//   zo-mmt   m ← 0.9 m + ĝ; θ ← θ − η m
//   zo-cons  keep the best of θ, θ − ηĝ, θ + ηĝ
//   zo-adam  Adam's moments on ĝ
// Weight decay is decoupled and skips biases and norms.
import { tf, type Variable } from '../backend/tf.js';
import { forwardLogits, type CausalLM } from '../models/causal-lm.js';
import { batchNll } from '../models/loss.js';
import type { Batch, MethodState, StepHooks, StepResult, TrainMethod } from './method.js';
import { createAdamWState, zerosVariable, type AdamWState } from './updates.js';
import type { NoiseTransform } from '../util/counter-rng.js';
import { ZoHistory, type NoiseRecord } from './zo-history.js';
import { applyNoise, querySeed, trainableTensors, type PerturbedTensor } from './zo-params.js';
import { DEFAULT_ZO_EPS } from '../../common/defaults.js';
import { adamStep } from '../backend/adam-step.js';
import { noiseAxpy, normalNoise } from '../backend/noise.js';

export type ZoMethodName = 'zo-sgd' | 'zo-sign' | 'zo-mmt' | 'zo-cons' | 'zo-adam';

export interface ZoOptions {
  /** Perturbation scale μ. */
  zoEps: number;
  /** Queries q: directions averaged per step. */
  zoQueries: number;
  /** (f(θ+μz) − f(θ))/μ instead of the two-sided difference. */
  zoOneSided: boolean;
  weightDecay: number;
  /** zo-sign: sign of the projected gradient times z, or of every element of ĝ. */
  zoSignForm: 'projected' | 'elementwise';
  /** Run seed: the queries' seeds derive from it and the step number. */
  seed: number;
  /** The observer sees ĝ per tensor (a regulariser is not theirs: see peft/adalora-train.ts). */
  hooks?: StepHooks;
}

export const ZO_DEFAULTS = {
  zoEps: DEFAULT_ZO_EPS,
  zoQueries: 1,
  zoOneSided: false,
  zoSignForm: 'projected',
} as const;

const MOMENTUM = 0.9;
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Mean loss over the batches' target tokens: forward passes only, no gradient recorded. */
export async function batchesLoss(model: CausalLM, batches: Batch[]): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const batch of batches) {
    const [s, c] = tf.tidy(() => {
      const nll = batchNll(forwardLogits(model, batch.ids), batch, model.objective);
      return [nll.sum, nll.count];
    });
    sum += ((await s.data()) as Float32Array)[0]!;
    count += ((await c.data()) as Float32Array)[0]!;
    tf.dispose([s, c]);
  }
  return sum / Math.max(count, 1);
}

/**
 * One direction's projected gradient: move θ by +μz, (−2μz,) and back, through `move(b)`
 * (θ ← θ + b·z), evaluating the loss on the way. Two-sided unless `base` = f(θ) is given.
 * The loss reported is f(θ) or, two-sided, (f₊ + f₋)/2 (equal up to O(μ²)).
 */
export async function projectedGradient(
  lossAt: () => Promise<number>,
  move: (b: number) => void,
  eps: number,
  base?: number,
): Promise<{ g: number; loss: number }> {
  move(eps);
  const plus = await lossAt();
  if (base !== undefined) {
    move(-eps);
    return { g: (plus - base) / eps, loss: base };
  }
  move(-2 * eps);
  const minus = await lossAt();
  move(eps);
  return { g: (plus - minus) / (2 * eps), loss: (plus + minus) / 2 };
}

export class ZoMethod implements TrainMethod {
  /** Every change made to the weights (zo-sgd, zo-sign, zo-cons; the others keep state). */
  readonly history = new ZoHistory();
  private readonly tensors: PerturbedTensor[];
  private readonly momentum = new Map<string, Variable>();
  private readonly adam = new Map<string, AdamWState>();
  private t = 0;
  /** zo-mmt: the previous step's learning rate (the momentum is stored scaled by it). */
  private prevLr = 0;

  constructor(
    readonly name: ZoMethodName,
    private readonly model: CausalLM,
    private readonly opts: ZoOptions,
  ) {
    this.tensors = trainableTensors(model.params);
    for (const { name: param, variable } of this.tensors) {
      if (name === 'zo-mmt') this.momentum.set(param, zerosVariable(variable.shape));
      if (name === 'zo-adam') this.adam.set(param, createAdamWState(variable));
    }
  }

  /** Whether the history alone rebuilds the weights (no optimizer state in the update). */
  get replayable(): boolean {
    return this.name === 'zo-sgd' || this.name === 'zo-sign' || this.name === 'zo-cons';
  }

  get perturbed(): readonly PerturbedTensor[] {
    return this.tensors;
  }

  async step(batches: Batch[], lr: number): Promise<StepResult> {
    this.t++;
    const { zoEps: eps, zoQueries: queries } = this.opts;
    const seeds = Array.from({ length: queries }, (_, i) => querySeed(this.opts.seed, this.t, i));
    const needsBase = this.opts.zoOneSided || this.name === 'zo-cons';
    const base = needsBase ? await batchesLoss(this.model, batches) : undefined;
    const projected: number[] = [];
    let midpoint = 0;
    for (const seed of seeds) {
      const estimate = await projectedGradient(
        () => batchesLoss(this.model, batches),
        (b) => this.apply({ seed, a: 1, b, transform: 'none' }),
        eps,
        this.opts.zoOneSided ? base : undefined,
      );
      projected.push(estimate.g);
      midpoint += estimate.loss / queries;
    }
    this.observe(seeds, projected);
    await this.update(seeds, projected, lr, batches, base);
    const projectedGrad = projected.reduce((s, g) => s + g, 0) / queries;
    return { loss: base ?? midpoint, projectedGrad };
  }

  private async update(
    seeds: number[],
    g: number[],
    lr: number,
    batches: Batch[],
    base: number | undefined,
  ): Promise<void> {
    const q = seeds.length;
    const decay = 1 - lr * this.opts.weightDecay;
    switch (this.name) {
      case 'zo-sgd':
        seeds.forEach((seed, i) =>
          this.apply({ seed, a: i === 0 ? decay : 1, b: (-lr * g[i]!) / q, transform: 'none' }),
        );
        return;
      case 'zo-sign': {
        // With q > 1 the element-wise form averages the queries' sign(gᵢ)·sign(zᵢ).
        const transform = this.opts.zoSignForm === 'elementwise' ? 'sign' : 'none';
        seeds.forEach((seed, i) =>
          this.apply({ seed, a: i === 0 ? decay : 1, b: (-lr * Math.sign(g[i]!)) / q, transform }),
        );
        return;
      }
      case 'zo-cons':
        return this.conservative(seeds, g, lr, batches, base!, decay);
      case 'zo-mmt': {
        // The momentum is kept scaled by the learning rate, m̃ = η·m, so that θ ← θ − m̃ is one
        // op with one temporary: m̃ ← 0.9·(ηₜ/ηₜ₋₁)·m̃ + ηₜ·ĝ.
        const carry = this.prevLr > 0 ? (MOMENTUM * lr) / this.prevLr : 0;
        for (const t of this.tensors) {
          const m = this.momentum.get(t.name)!;
          seeds.forEach((seed, i) =>
            tf.tidy(() =>
              m.assign(
                noiseAxpy(m, i === 0 ? carry : 1, (lr * g[i]!) / q, { seed, stream: t.stream }),
              ),
            ),
          );
          if (t.decays && decay !== 1) tf.tidy(() => t.variable.assign(tf.mul(t.variable, decay)));
          tf.tidy(() => t.variable.assign(tf.sub(t.variable, m)));
        }
        this.prevLr = lr;
        return;
      }
      case 'zo-adam':
        for (const t of this.tensors) this.adamUpdate(t, seeds, g, lr, decay);
        return;
    }
  }

  /**
   * Adam on ĝ, one tensor-sized temporary at a time: with one query the moments are updated
   * straight from the noise (m with z, v with z²), and θ's step is one kernel (adam-step.ts).
   */
  private adamUpdate(t: PerturbedTensor, seeds: number[], g: number[], lr: number, decay: number) {
    const { m, v } = this.adam.get(t.name)!;
    const { beta1, beta2, eps } = ADAM;
    const q = seeds.length;
    if (q === 1) {
      const noise = (transform: NoiseTransform) => ({
        seed: seeds[0]!,
        stream: t.stream,
        transform,
      });
      tf.tidy(() => m.assign(noiseAxpy(m, beta1, (1 - beta1) * g[0]!, noise('none'))));
      tf.tidy(() => v.assign(noiseAxpy(v, beta2, (1 - beta2) * g[0]! ** 2, noise('square'))));
    } else {
      const ghat = tf.tidy(() => {
        let acc = normalNoise(t.variable.shape, { seed: seeds[0]!, stream: t.stream });
        acc = tf.mul(acc, g[0]! / q);
        for (let i = 1; i < q; i++)
          acc = noiseAxpy(acc, 1, g[i]! / q, { seed: seeds[i]!, stream: t.stream });
        return acc;
      });
      tf.tidy(() => m.assign(tf.add(tf.mul(m, beta1), tf.mul(ghat, 1 - beta1))));
      tf.tidy(() => v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(ghat), 1 - beta2))));
      ghat.dispose();
    }
    const scale = lr / (1 - beta1 ** this.t);
    const vScale = 1 / (1 - beta2 ** this.t);
    const d = t.decays ? decay : 1;
    tf.tidy(() => t.variable.assign(adamStep(t.variable, m, v, { decay: d, scale, vScale, eps })));
  }

  /** zo-cons: evaluate θ − ηĝ and θ + ηĝ and keep whichever of the three has the lowest loss. */
  private async conservative(
    seeds: number[],
    g: number[],
    lr: number,
    batches: Batch[],
    base: number,
    decay: number,
  ): Promise<void> {
    const move = (scale: number) =>
      seeds.forEach((seed, i) =>
        this.apply({ seed, a: 1, b: (scale * lr * g[i]!) / seeds.length, transform: 'none' }),
      );
    move(-1);
    const descent = await batchesLoss(this.model, batches);
    move(2);
    const ascent = await batchesLoss(this.model, batches);
    if (base <= descent && base <= ascent) move(-1);
    else if (descent < ascent) move(-2);
    if (decay !== 1) this.apply({ seed: 0, a: decay, b: 0, transform: 'none' });
  }

  /** Hand the observer ĝ = (1/q) Σ gᵢ zᵢ, one tensor at a time (z regenerated from its seed). */
  private observe(seeds: number[], g: number[]): void {
    const observe = this.opts.hooks?.observe;
    if (!observe) return;
    for (const t of this.tensors) {
      const estimate = gradientEstimate(t, seeds, g);
      observe(new Map([[t.name, estimate]]));
      estimate.dispose();
    }
  }

  private apply(record: NoiseRecord): void {
    applyNoise(this.tensors, record);
    if (this.replayable) this.history.push(record);
  }

  state(): MethodState {
    const variables = new Map<string, Variable>();
    for (const [name, m] of this.momentum) variables.set(`zo.m.${name}`, m);
    for (const [name, s] of this.adam) {
      variables.set(`zo.m.${name}`, s.m);
      variables.set(`zo.v.${name}`, s.v);
    }
    return { variables, json: { t: this.t, records: this.history.count, prevLr: this.prevLr } };
  }

  restoreJson(json: Record<string, unknown>): void {
    this.t = Number(json.t ?? 0);
    this.prevLr = Number(json.prevLr ?? 0);
    this.history.truncate(Number(json.records ?? 0));
  }

  dispose(): void {
    for (const m of this.momentum.values()) m.dispose();
    for (const s of this.adam.values()) tf.dispose([s.m, s.v]);
    this.momentum.clear();
    this.adam.clear();
  }
}

/** ĝ = (1/q) Σᵢ gᵢ·zᵢ for one tensor, zᵢ regenerated from query i's seed. */
export function gradientEstimate(t: PerturbedTensor, seeds: number[], g: number[]): tf.Tensor {
  return tf.tidy(() => {
    const q = seeds.length;
    let acc = tf.mul(
      normalNoise(t.variable.shape, { seed: seeds[0]!, stream: t.stream }),
      g[0]! / q,
    );
    for (let i = 1; i < q; i++)
      acc = noiseAxpy(acc, 1, g[i]! / q, { seed: seeds[i]!, stream: t.stream });
    return acc;
  });
}
