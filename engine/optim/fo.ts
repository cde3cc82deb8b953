// The first-order baselines users know: FO-SGD and FO-AdamW with full backprop (every gradient
// alive before the update), gradient accumulation over micro-batches, optional clipping, and
// optional activation checkpointing (block-wise backward collecting gradients) so they can be
// compared with LOMO like for like.
import { tf, type Tensor, type Variable } from '../backend/tf.js';
import type { CausalLM } from '../models/causal-lm.js';
import { forwardLogits } from '../models/causal-lm.js';
import { batchLoss } from '../models/loss.js';
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
import { PagedAdamWState } from './paged.js';
import {
  ADAMW_DEFAULTS,
  adamwUpdate,
  clipCoefficient,
  clipGradient,
  createAdamWState,
  sgdUpdate,
  sumOfSquares,
  sumScalars,
  type AdamWOptions,
  type AdamWState,
} from './updates.js';

export interface FoOptions extends ClipOptions {
  weightDecay: number;
  /** Recompute activations block by block instead of keeping the whole forward's. */
  recompute: boolean;
  adam?: Partial<Omit<AdamWOptions, 'lr' | 'weightDecay'>>;
  hooks?: StepHooks;
  /** fo-adamw: keep the moments in host memory, one tensor's on the device at a time. */
  pagedOptim?: boolean;
}

export class FoMethod implements TrainMethod {
  private readonly adamState = new Map<string, AdamWState>();
  private readonly paged: PagedAdamWState | undefined;
  private t = 0;

  constructor(
    readonly name: 'fo-sgd' | 'fo-adamw',
    private readonly model: CausalLM,
    private readonly opts: FoOptions,
  ) {
    if (name === 'fo-adamw' && opts.pagedOptim) this.paged = new PagedAdamWState(this.trainable());
    else if (name === 'fo-adamw') {
      for (const [param, variable] of this.trainable()) {
        this.adamState.set(param, createAdamWState(variable));
      }
    }
  }

  private trainable(): [string, Variable][] {
    return [...this.model.params.entries()].filter(([, v]) => v.trainable);
  }

  async step(batches: Batch[], lr: number): Promise<StepResult> {
    const grads = new Map<string, Tensor>();
    const scale = 1 / batches.length;
    const accumulate = (name: string, g: Tensor) => {
      const scaled = scale === 1 ? g : tf.mul(g, scale);
      if (scaled !== g) g.dispose();
      const earlier = grads.get(name);
      grads.set(name, earlier ? tf.add(earlier, scaled) : scaled);
      if (earlier) {
        earlier.dispose();
        scaled.dispose();
      }
    };
    let lossSum = 0;
    const { hooks } = this.opts;
    const penalty = (await hooks?.regularizer?.value()) ?? 0;
    try {
      for (const batch of batches) {
        lossSum += this.opts.recompute
          ? await blockwiseBackward(this.model, batch, (_, part) =>
              part.forEach((g, name) => accumulate(name, g)),
            )
          : await this.fullBackward(batch, accumulate);
      }
      addRegularizerGradients(grads, hooks?.regularizer);
      hooks?.observe?.(grads);
      const gradNorm = await globalNorm(grads);
      let coefficient = 1;
      if (this.opts.maxGradNorm !== undefined)
        coefficient = clipCoefficient(gradNorm, this.opts.maxGradNorm);
      this.t++;
      for (const [name, variable] of this.trainable()) {
        const g = grads.get(name);
        if (!g) continue;
        const clipped = clipGradient(g, coefficient, this.opts.clipValue);
        try {
          await this.apply(name, variable, clipped, lr);
        } finally {
          if (clipped !== g) clipped.dispose();
        }
      }
      return { loss: lossSum / batches.length + penalty, gradNorm };
    } finally {
      for (const g of grads.values()) g.dispose();
    }
  }

  private async fullBackward(
    batch: Batch,
    accumulate: (name: string, g: Tensor) => void,
  ): Promise<number> {
    const entries = this.trainable();
    const { value, grads } = tf.variableGrads(
      () => batchLoss(forwardLogits(this.model, batch.ids), batch, this.model.objective),
      entries.map(([, v]) => v),
    );
    const byVariable = new Map(entries.map(([name, v]) => [v.name, name]));
    for (const [variableName, g] of Object.entries(grads))
      accumulate(byVariable.get(variableName)!, g);
    const loss = ((await value.data()) as Float32Array)[0]!;
    value.dispose();
    return loss;
  }

  private async apply(name: string, variable: Variable, g: Tensor, lr: number): Promise<void> {
    if (this.name === 'fo-sgd') {
      sgdUpdate(variable, g, { lr, weightDecay: this.opts.weightDecay });
      return;
    }
    const options = {
      ...ADAMW_DEFAULTS,
      ...this.opts.adam,
      lr,
      weightDecay: this.opts.weightDecay,
    };
    if (this.paged) await this.paged.update(name, variable, g, this.t, options);
    else adamwUpdate(variable, g, this.adamState.get(name)!, this.t, options);
  }

  state(): MethodState {
    const variables = new Map<string, Variable>();
    for (const [name, s] of this.adamState) {
      variables.set(`adamw.m.${name}`, s.m);
      variables.set(`adamw.v.${name}`, s.v);
    }
    return {
      variables,
      ...(this.paged && { host: this.paged.entries() }),
      json: { t: this.t },
    };
  }

  restoreJson(json: Record<string, unknown>): void {
    this.t = Number(json.t ?? 0);
  }

  dispose(): void {
    for (const s of this.adamState.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.adamState.clear();
  }
}

/** ‖g‖₂ over all tensors: Σ of per-tensor sums of squares, read back once. */
export async function globalNorm(grads: Iterable<Tensor> | Map<string, Tensor>): Promise<number> {
  const list = grads instanceof Map ? [...grads.values()] : [...grads];
  if (list.length === 0) return 0;
  const squares = list.map((g) => sumOfSquares(g));
  const total = sumScalars(squares);
  squares.forEach((t) => t.dispose());
  const value = ((await total.data()) as Float32Array)[0]!;
  total.dispose();
  return Math.sqrt(value);
}
