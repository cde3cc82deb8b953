// LOMO and AdaLomo (arXiv 2306.09782, 2310.10195): the gradient computation fused with the update.
// Block-wise backward hands over one part's gradients at a time; each parameter is updated at
// once and its gradient freed, so the whole model's gradients never exist together. Clipping by
// global norm needs the norm before any update: a first backward pass computes only the norm.
import type { Scalar, Variable } from '../backend/tf.js';
import type { CausalLM } from '../models/causal-lm.js';
import { blockwiseBackward } from './blockwise.js';
import {
  addRegularizerGradients,
  type Batch,
  type ClipOptions,
  type MethodState,
  type StepHooks,
  type StepResult,
  type TrainMethod,
} from './method.js';
import {
  ADALOMO_DEFAULTS,
  adalomoUpdate,
  clipCoefficient,
  clipGradient,
  createAdaLomoState,
  sgdUpdate,
  sumOfSquares,
  sumScalars,
  type AdaLomoState,
} from './updates.js';

export interface LomoOptions extends ClipOptions {
  weightDecay: number;
  hooks?: StepHooks;
}

export class LomoMethod implements TrainMethod {
  private readonly adaState = new Map<string, AdaLomoState>();
  private t = 0;

  constructor(
    readonly name: 'lomo' | 'adalomo',
    private readonly model: CausalLM,
    private readonly opts: LomoOptions,
  ) {
    if (name === 'adalomo') {
      for (const [param, variable] of model.params.entries()) {
        if (variable.trainable) this.adaState.set(param, createAdaLomoState(variable));
      }
    }
  }

  async step(batches: Batch[], lr: number): Promise<StepResult> {
    if (batches.length !== 1) {
      throw new Error(
        `${this.name} updates while it backpropagates, so it cannot accumulate gradients over ${batches.length} micro-batches; use a larger batch instead.`,
      );
    }
    const batch = batches[0]!;
    let coefficient = 1;
    let gradNorm: number | undefined;
    if (this.opts.maxGradNorm !== undefined) {
      gradNorm = await this.normPass(batch);
      coefficient = clipCoefficient(gradNorm, this.opts.maxGradNorm);
    }
    this.t++;
    const { hooks } = this.opts;
    const penalty = (await hooks?.regularizer?.value()) ?? 0;
    const taskLoss = await blockwiseBackward(this.model, batch, (_, grads) => {
      // One part's gradients: the regulariser's and the observer's share of them come now too.
      addRegularizerGradients(grads, hooks?.regularizer);
      hooks?.observe?.(grads);
      for (const [name, g] of grads) {
        const clipped = clipGradient(g, coefficient, this.opts.clipValue);
        const param = this.model.params.get(name);
        if (this.name === 'lomo')
          sgdUpdate(param, clipped, { lr, weightDecay: this.opts.weightDecay });
        else {
          const options = { ...ADALOMO_DEFAULTS, lr, weightDecay: this.opts.weightDecay };
          adalomoUpdate(param, clipped, this.adaState.get(name)!, this.t, options);
        }
        if (clipped !== g) clipped.dispose();
        g.dispose();
      }
    });
    const loss = taskLoss + penalty;
    return gradNorm === undefined ? { loss } : { loss, gradNorm };
  }

  /**
   * Pass 1 of clip-by-norm: the global norm of the raw gradients (before any clamp, as LOMO's
   * code and the FO methods take it), one part's gradients alive at a time.
   */
  private async normPass(batch: Batch): Promise<number> {
    const squares: Scalar[] = [];
    await blockwiseBackward(this.model, batch, (_, grads) => {
      addRegularizerGradients(grads, this.opts.hooks?.regularizer);
      for (const g of grads.values()) {
        squares.push(sumOfSquares(g));
        g.dispose();
      }
    });
    const total = sumScalars(squares);
    squares.forEach((s) => s.dispose());
    const value = ((await total.data()) as Float32Array)[0]!;
    total.dispose();
    return Math.sqrt(value);
  }

  state(): MethodState {
    const variables = new Map<string, Variable>();
    for (const [name, s] of this.adaState) {
      for (const key of ['row', 'col', 'full'] as const) {
        const v = s[key];
        if (v) variables.set(`adalomo.${key}.${name}`, v);
      }
    }
    return { variables, json: { t: this.t } };
  }

  restoreJson(json: Record<string, unknown>): void {
    this.t = Number(json.t ?? 0);
  }

  dispose(): void {
    for (const s of this.adaState.values()) for (const v of [s.row, s.col, s.full]) v?.dispose();
    this.adaState.clear();
  }
}
