// Forward-Grad (Baydin et al., "Gradients without backpropagation"; ZO-Bench's FO-free baseline):
// draw v ~ N(0, I) over the trainable tensors, get f(θ) and the directional derivative ∇f·v in
// one forward pass carrying tangents (tangent-tape.ts), and step θ ← θ − η·(∇f·v)·v. v is the same
// counter-based noise as the ZO methods', regenerated per tensor when a kernel reads it and for
// the update, so no parameter-sized direction is ever stored.
import { normalNoise } from '../backend/noise.js';
import { tf, type Scalar, type Variable } from '../backend/tf.js';
import { forwardLogits, type CausalLM } from '../models/causal-lm.js';
import { batchNll } from '../models/loss.js';
import type { Batch, MethodState, StepHooks, StepResult, TrainMethod } from './method.js';
import { TangentTape } from './tangent-tape.js';
import { gradientEstimate } from './zo.js';
import { applyNoise, querySeed, trainableTensors, type PerturbedTensor } from './zo-params.js';

export interface ForwardGradOptions {
  weightDecay: number;
  /** Directions averaged per step. */
  zoQueries: number;
  seed: number;
  /** The observer sees ĝ = mean (∇f·vᵢ) vᵢ per tensor. */
  hooks?: StepHooks;
}

/** f(θ) and ∇f(θ)·v over the batches' target tokens, v drawn from `seed`, in forward passes. */
export async function lossAndJvp(
  model: CausalLM,
  tensors: readonly PerturbedTensor[],
  batches: Batch[],
  seed: number,
): Promise<{ loss: number; jvp: number }> {
  const byVariable = new Map<Variable, PerturbedTensor>(tensors.map((t) => [t.variable, t]));
  let sum = 0;
  let derivative = 0;
  let count = 0;
  for (const batch of batches) {
    const tape = new TangentTape((v) => {
      const t = byVariable.get(v);
      return t && normalNoise(v.shape, { seed, stream: t.stream });
    });
    try {
      const [s, ds, c] = tape.run(() =>
        tf.tidy(() => {
          const nll = batchNll(forwardLogits(model, batch.ids), batch, model.objective);
          return [nll.sum, tape.tangentOf(nll.sum) ?? tf.scalar(0), nll.count] as Scalar[];
        }),
      );
      sum += ((await s!.data()) as Float32Array)[0]!;
      derivative += ((await ds!.data()) as Float32Array)[0]!;
      count += ((await c!.data()) as Float32Array)[0]!;
      tf.dispose([s!, ds!, c!]);
    } finally {
      tape.dispose();
    }
  }
  const n = Math.max(count, 1);
  return { loss: sum / n, jvp: derivative / n };
}

export class ForwardGradMethod implements TrainMethod {
  readonly name = 'forward-grad';
  private readonly tensors: PerturbedTensor[];
  private t = 0;

  constructor(
    private readonly model: CausalLM,
    private readonly opts: ForwardGradOptions,
  ) {
    this.tensors = trainableTensors(model.params);
  }

  async step(batches: Batch[], lr: number): Promise<StepResult> {
    this.t++;
    const q = this.opts.zoQueries;
    const seeds = Array.from({ length: q }, (_, i) => querySeed(this.opts.seed, this.t, i));
    const results: { loss: number; jvp: number }[] = [];
    for (const seed of seeds)
      results.push(await lossAndJvp(this.model, this.tensors, batches, seed));
    const observe = this.opts.hooks?.observe;
    if (observe) {
      const jvps = results.map((r) => r.jvp);
      for (const t of this.tensors) {
        const estimate = gradientEstimate(t, seeds, jvps);
        observe(new Map([[t.name, estimate]]));
        estimate.dispose();
      }
    }
    const decay = 1 - lr * this.opts.weightDecay;
    seeds.forEach((seed, i) =>
      applyNoise(this.tensors, {
        seed,
        a: i === 0 ? decay : 1,
        b: (-lr * results[i]!.jvp) / q,
        transform: 'none',
      }),
    );
    return {
      loss: results[0]!.loss,
      projectedGrad: results.reduce((s, r) => s + r.jvp, 0) / q,
    };
  }

  state(): MethodState {
    return { variables: new Map(), json: { t: this.t } };
  }

  restoreJson(json: Record<string, unknown>): void {
    this.t = Number(json.t ?? 0);
  }

  dispose(): void {}
}
