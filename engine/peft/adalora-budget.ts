// AdaLoRA's rank allocation (arXiv 2303.10512 §3.2–3.3, PEFT's RankAllocator): sensitivity
// I = |w·∂L/∂w| per entry, smoothed Ī ← β1 Ī + (1−β1) I and its uncertainty
// Ū ← β2 Ū + (1−β2)|I − Ī|, score s = Ī·Ū; a triplet's score is s(λᵢ) + mean s(Qᵢ,:) + mean s(P:,ᵢ).
// The budget (total kept ranks) falls from init_r·M to target_r·M along a cubic schedule between
// tinit and T − tfinal; every deltaT steps the lowest-scoring triplets over all matrices are pruned.
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Variable } from '../backend/tf.js';
import { zerosVariable } from '../optim/updates.js';
import type { AdaLoraOptions } from './adalora.js';

export interface BudgetSchedule {
  initBudget: number;
  targetBudget: number;
  tinit: number;
  tfinal: number;
  totalStep: number;
  deltaT: number;
}

/** The schedule of a run of `totalStep` steps over `matrices` adapted modules. */
export function budgetSchedule(
  o: AdaLoraOptions,
  totalStep: number,
  matrices: number,
): BudgetSchedule {
  const tinit = o.tinit ?? Math.floor(0.1 * totalStep);
  const tfinal = o.tfinal ?? Math.floor(0.3 * totalStep);
  if (o.targetR > o.initR) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `--adalora-target-r ${o.targetR} is above --adalora-init-r ${o.initR}; AdaLoRA only prunes ranks.`,
      'Choose a target rank at or below the initial rank (defaults 8 and 12).',
    );
  }
  if (tinit + tfinal >= totalStep) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `AdaLoRA's warm-up (${tinit}) and final phase (${tfinal}) leave no steps of the ${totalStep} to prune ranks in.`,
      'Lower --adalora-tinit / --adalora-tfinal or train for more steps.',
    );
  }
  return {
    initBudget: o.initR * matrices,
    targetBudget: o.targetR * matrices,
    tinit,
    tfinal,
    totalStep,
    deltaT: o.deltaT,
  };
}

/**
 * The budget after step `step` (1-based) and whether to prune to it now: all ranks through
 * tinit, then b(t) = ⌊(b₀ − b_T)(1 − (t − tinit)/(T − tfinal − tinit))³ + b_T⌋ every deltaT steps,
 * and the target from T − tfinal on (PEFT's budget_schedule).
 */
export function budgetAt(s: BudgetSchedule, step: number): { budget: number; prune: boolean } {
  if (step <= s.tinit) return { budget: s.initBudget, prune: false };
  const end = s.totalStep - s.tfinal;
  if (step >= end) return { budget: s.targetBudget, prune: true };
  const left = 1 - (step - s.tinit) / (end - s.tinit);
  const budget = Math.floor((s.initBudget - s.targetBudget) * left ** 3 + s.targetBudget);
  return { budget, prune: step % s.deltaT === 0 };
}

/** A triplet's score per rank: s(λ) [r, 1] + the row means of s(Q) [r, in] + column means of s(P) [out, r]. */
export function tripletScores(sQ: Tensor2D, sE: Tensor2D, sP: Tensor2D): Tensor1D {
  return tf.tidy(() =>
    tf.add<Tensor1D>(tf.add(tf.reshape(sE, [-1]), tf.mean(sQ, 1)), tf.mean(sP, 0)),
  );
}

/**
 * Keep flags with the `prune` lowest scores over all matrices turned off (ties go to the earlier
 * matrix and rank, so exactly `prune` are pruned; PEFT prunes every score ≤ the k-th).
 */
export function pruneLowest(scores: number[][], prune: number): boolean[][] {
  const flat = scores.flatMap((row, m) => row.map((score, i) => ({ score, m, i })));
  flat.sort((a, b) => a.score - b.score || a.m - b.m || a.i - b.i);
  const keep = scores.map((row) => row.map(() => true));
  for (const { m, i } of flat.slice(0, Math.max(0, prune))) keep[m]![i] = false;
  return keep;
}

/** The smoothed sensitivity Ī and uncertainty Ū of every adapter tensor. */
export class Importance {
  readonly ipt = new Map<string, Variable>();
  readonly unc = new Map<string, Variable>();

  constructor(
    shapes: Map<string, number[]>,
    private readonly beta1: number,
    private readonly beta2: number,
  ) {
    for (const [name, shape] of shapes) {
      this.ipt.set(name, zerosVariable(shape));
      this.unc.set(name, zerosVariable(shape));
    }
  }

  /** Fold in the gradient (or its estimate) `g` of the tensor `name` whose value is `w`. */
  update(name: string, w: Tensor, g: Tensor): void {
    const ipt = this.ipt.get(name);
    const unc = this.unc.get(name);
    if (!ipt || !unc) return;
    tf.tidy(() => {
      const sensitivity = tf.abs(tf.mul(w, g));
      const smoothed = tf.add(tf.mul(ipt, this.beta1), tf.mul(sensitivity, 1 - this.beta1));
      const deviation = tf.abs(tf.sub(sensitivity, smoothed));
      unc.assign(tf.add(tf.mul(unc, this.beta2), tf.mul(deviation, 1 - this.beta2)));
      ipt.assign(smoothed);
    });
  }

  /** s = Ī·Ū of one tensor. */
  score(name: string): Tensor {
    return tf.mul(this.ipt.get(name)!, this.unc.get(name)!);
  }

  dispose(): void {
    for (const v of [...this.ipt.values(), ...this.unc.values()]) v.dispose();
    this.ipt.clear();
    this.unc.clear();
  }
}
