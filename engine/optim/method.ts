// What the trainer sees of a fine-tuning method: a small object that takes a step on a batch and
// owns its state (moments, step count), which it can save into and restore from a checkpoint.
import { tf, type Tensor, type Tensor2D, type Variable } from '../backend/tf.js';
import type { LossBatch } from '../models/loss.js';
import type { HostTensor } from './paged.js';

import type { methodNames } from '../protocol.js';

/** Methods by their CLI names. */
export type MethodName = (typeof methodNames)[number];

/**
 * One batch of token ids with its loss mask (static shape [B, T]: the webgpu pool keys by size).
 * Masked LMs' batches also carry labels (and optionally label words): see models/loss.ts.
 */
export interface Batch extends LossBatch {
  /** [B, T] int32 token ids. */
  ids: Tensor2D;
  /** [B, T] float32: 1 where the token is a target (a real token, not padding or a prompt). */
  mask: Tensor2D;
  /**
   * Number of targets: causal, mask ones after the first position of each row; masked LM,
   * all mask ones.
   */
  targets: number;
}

/** Free a batch's tensors (the label words too: each batch owns its copy). */
export function disposeBatch(b: Batch): void {
  tf.dispose([
    b.ids,
    b.mask,
    ...(b.labels ? [b.labels] : []),
    ...(b.labelWords ? [b.labelWords] : []),
  ]);
}

export interface StepResult {
  /** Mean loss over the step's target tokens (before the update). */
  loss: number;
  /** Global gradient norm, where the method computed it (clipping by norm, FO methods). */
  gradNorm?: number;
  /** Zeroth-order methods: the mean projected gradient (directional derivative estimate). */
  projectedGrad?: number;
}

/** A method's state as stored in a checkpoint: its variables by name, plus small JSON. */
export interface MethodState {
  variables: Map<string, Variable>;
  /** State kept in host memory (paged AdamW moments); a restore writes into these arrays. */
  host?: Map<string, HostTensor>;
  json: Record<string, unknown>;
}

export interface TrainMethod {
  readonly name: MethodName;
  /**
   * Update the trainable parameters from `batches` (more than one only with gradient
   * accumulation, which fused methods cannot do). `lr` is this step's learning rate.
   */
  step(batches: Batch[], lr: number): Promise<StepResult>;
  /**
   * The state to checkpoint; the variables stay owned by the method, and a restore writes the
   * saved values back into them.
   */
  state(): MethodState;
  /** Restore the JSON part of the state (the checkpoint has refilled the variables). */
  restoreJson(json: Record<string, unknown>): void;
  dispose(): void;
}

export interface ClipOptions {
  /** Clip the global gradient norm to this (LOMO: two passes). */
  maxGradNorm?: number;
  /** Clamp every gradient element to [-v, v] (one pass); with both, clamping comes first. */
  clipValue?: number;
}

/** A term added to the training loss (AdaLoRA's orthogonality regulariser). */
export interface Regularizer {
  /** Its value at the current weights. */
  value(): Promise<number>;
  /** ∂R/∂(trainable tensor `name`), or undefined where R does not depend on it; the caller frees it. */
  gradient(name: string): Tensor | undefined;
}

/**
 * What an adapter adds to every method's step (AdaLoRA): a regulariser whose gradient backprop
 * methods add to the loss's, and an observer that sees each trainable tensor's gradient, or a
 * zeroth-order step's estimate of it (ĝ = mean gᵢ·zᵢ), before the update while the weights are
 * still the step's. The tensors handed to `observe` stay the caller's.
 */
export interface StepHooks {
  regularizer?: Regularizer;
  observe?: (grads: Map<string, Tensor>) => void;
}

/** g + ∂R/∂θ for every gradient in `grads`, replacing (and freeing) the ones R changes. */
export function addRegularizerGradients(
  grads: Map<string, Tensor>,
  r: Regularizer | undefined,
): void {
  if (!r) return;
  for (const [name, g] of grads) {
    const extra = r.gradient(name);
    if (!extra) continue;
    grads.set(name, tf.add(g, extra));
    g.dispose();
    extra.dispose();
  }
}
