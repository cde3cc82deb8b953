// In-place optimizer updates, one parameter at a time: SGD (LOMO's rule), AdamW and AdaLomo, plus
// the gradient-clipping pieces LOMO needs. Each update runs in `tf.tidy` and `assign`s its results.
import { WhetstoneError } from '../errors.js';
import { axpby, sumOfSquares as fusedSumOfSquares } from '../backend/fused.js';
import { tf, type Scalar, type Tensor, type Variable } from '../backend/tf.js';

function checkStep(t: number): void {
  if (!Number.isInteger(t) || t < 1)
    throw new WhetstoneError('INTERNAL', `Optimizer step must be an integer >= 1, got ${t}.`);
}

export function zerosVariable(shape: number[]): Variable {
  // tidy frees the zeros tensor; the variable keeps its own reference to the data.
  return tf.tidy(() => tf.variable(tf.zeros(shape), false));
}

/** ‖x‖₂ / sqrt(numel) as a scalar tensor (Adafactor's RMS). */
function rms(x: Tensor): Scalar {
  return tf.sqrt(tf.mean<Scalar>(tf.square(x)));
}

export interface SgdOptions {
  lr: number;
  weightDecay: number;
}

/** θ ← θ(1 − η·wd) − η·g (LOMO's rule; weightDecay 0 gives plain SGD). */
export function sgdUpdate(param: Variable, grad: Tensor, opts: SgdOptions): void {
  tf.tidy(() => param.assign(axpby(param, 1 - opts.lr * opts.weightDecay, grad, -opts.lr)));
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** PyTorch's AdamW defaults (lr is always given by the caller). */
export const ADAMW_DEFAULTS: Omit<AdamWOptions, 'lr'> = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
};

/** First and second moments, shaped like the parameter. */
export interface AdamWState {
  m: Variable;
  v: Variable;
}

/** Zero moments for `param` (not trainable: nothing differentiates through them). */
export function createAdamWState(param: Variable): AdamWState {
  return { m: zerosVariable(param.shape), v: zerosVariable(param.shape) };
}

/**
 * PyTorch AdamW semantics, step t is 1-based: θ ← θ(1 − lr·wd); m ← β1 m + (1−β1) g;
 * v ← β2 v + (1−β2) g²; θ ← θ − lr · (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps).
 */
export function adamwUpdate(
  param: Variable,
  grad: Tensor,
  state: AdamWState,
  t: number,
  opts: AdamWOptions,
): void {
  checkStep(t);
  const { lr, beta1, beta2, eps, weightDecay } = opts;
  // Small tidies, each freeing its temporaries before the next: a parameter-sized update then
  // costs about three temporaries at once, not a dozen (the largest tensor sets the peak).
  tf.tidy(() => state.m.assign(tf.add(tf.mul(state.m, beta1), tf.mul(grad, 1 - beta1))));
  tf.tidy(() => state.v.assign(tf.add(tf.mul(state.v, beta2), tf.mul(tf.square(grad), 1 - beta2))));
  const denom = tf.tidy(() => tf.add(tf.sqrt(tf.div(state.v, 1 - Math.pow(beta2, t))), eps));
  const step = tf.tidy(() => tf.mul(tf.div(state.m, denom), lr / (1 - Math.pow(beta1, t))));
  denom.dispose();
  // Decoupled decay acts on θ before the Adam step, as torch.optim.AdamW does.
  tf.tidy(() => {
    const decayed = weightDecay === 0 ? param : tf.mul(param, 1 - lr * weightDecay);
    param.assign(tf.sub(decayed, step));
  });
  step.dispose();
}

export interface AdaLomoOptions {
  lr: number;
  weightDecay: number;
  eps1: number;
  eps2: number;
  clipThreshold: number;
  decayRate: number;
}

/** The defaults of OpenLMLab/LOMO's AdaLomo (lr is always given by the caller). */
export const ADALOMO_DEFAULTS: Omit<AdaLomoOptions, 'lr'> = {
  weightDecay: 0,
  eps1: 1e-30,
  eps2: 1e-3,
  clipThreshold: 1.0,
  decayRate: -0.8,
};

/**
 * Factored second moments for matrices (rank >= 2: row [..., m] = mean over the last dim,
 * col [..., n] = mean over the second-to-last dim), a full one for vectors/scalars.
 */
export interface AdaLomoState {
  row?: Variable;
  col?: Variable;
  full?: Variable;
}

/** Zero second moments for `param`: factored for rank >= 2, full otherwise. */
export function createAdaLomoState(param: Variable): AdaLomoState {
  const shape = param.shape;
  if (shape.length < 2) return { full: zerosVariable(shape) };
  const lead = shape.slice(0, -2);
  const [m, n] = shape.slice(-2) as [number, number];
  return { row: zerosVariable([...lead, m]), col: zerosVariable([...lead, n]) };
}

/** g · rsqrt(v̂) with v̂ the (factored or full) second moment, after updating the state. */
function adalomoDirection(grad: Tensor, state: AdaLomoState, beta2t: number, eps1: number): Tensor {
  const ema = (old: Tensor, fresh: Tensor) =>
    tf.add(tf.mul(old, beta2t), tf.mul(fresh, 1 - beta2t));
  if (grad.rank >= 2) {
    const { row, col } = state;
    if (!row || !col)
      throw new WhetstoneError('INTERNAL', 'AdaLomo state of a matrix needs row and col.');
    // u = g² + eps1 is freed as soon as its row and column means are taken.
    tf.tidy(() => {
      const u = tf.add(tf.square(grad), eps1);
      row.assign(ema(row, tf.mean(u, -1))); // [..., m]
      col.assign(ema(col, tf.mean(u, -2))); // [..., n]
    });
    return tf.tidy(() => {
      const rowScale = tf.rsqrt(tf.div(row, tf.mean(row, -1, true))); // [..., m]
      const rowFactor = tf.expandDims(rowScale, -1); // [..., m, 1]
      const colFactor = tf.expandDims(tf.rsqrt(col), -2); // [..., 1, n]
      return tf.mul(tf.mul(grad, rowFactor), colFactor);
    });
  }
  const { full } = state;
  if (!full) throw new WhetstoneError('INTERNAL', 'AdaLomo state of a vector needs full.');
  tf.tidy(() => full.assign(ema(full, tf.add(tf.square(grad), eps1))));
  return tf.tidy(() => tf.mul(grad, tf.rsqrt(full)));
}

/**
 * One AdaLomo update with 1-based step t (OpenLMLab/LOMO adalomo.py): u = g² + eps1;
 * β2t = 1 − t^decayRate; matrices: row ← β2t row + (1−β2t) mean_{-1}(u), col likewise with
 * mean_{-2}(u), update = g · rsqrt(row / mean_{-1}(row))[..., :, None] · rsqrt(col)[..., None, :];
 * vectors: full ← β2t full + (1−β2t) u, update = g · rsqrt(full). Then
 * update ← update / max(1, RMS(update)/clipThreshold); ηt = lr · max(eps2, RMS(θ)) with RMS(θ)
 * taken before the update; θ ← θ(1 − ηt·wd) − ηt·update.
 */
export function adalomoUpdate(
  param: Variable,
  grad: Tensor,
  state: AdaLomoState,
  t: number,
  opts: AdaLomoOptions,
): void {
  checkStep(t);
  const beta2t = 1 - Math.pow(t, opts.decayRate);
  const raw = adalomoDirection(grad, state, beta2t, opts.eps1);
  const update = tf.tidy(() => tf.div(raw, tf.maximum(tf.div(rms(raw), opts.clipThreshold), 1)));
  raw.dispose();
  // Scalars stay on the device: no sync per parameter, which LOMO would pay once per tensor.
  const lrT = tf.tidy(() => tf.mul(tf.maximum(rms(param), opts.eps2), opts.lr));
  tf.tidy(() => {
    const decayed =
      opts.weightDecay === 0 ? param : tf.mul(param, tf.sub(1, tf.mul(lrT, opts.weightDecay)));
    param.assign(tf.sub(decayed, tf.mul(update, lrT)));
  });
  update.dispose();
  lrT.dispose();
}

/**
 * Elementwise clamp of a gradient to [−limit, limit] (LOMO's clip_grad_value). Returns a new
 * tensor.
 */
export function clipByValue(grad: Tensor, limit: number): Tensor {
  return tf.clipByValue(grad, -limit, limit);
}

/** Σ g² of one tensor as a Scalar (pass 1 of clip-by-global-norm accumulates these). */
export function sumOfSquares(grad: Tensor): Scalar {
  return fusedSumOfSquares(grad);
}

/**
 * Σ of scalars as one scalar. Added one at a time, not with `tf.addN`: on webgpu an AddN of more
 * than a handful of inputs exceeds the per-stage storage-buffer limit (8 on many devices).
 */
export function sumScalars(scalars: Scalar[]): Scalar {
  return tf.tidy(() => scalars.reduce<Scalar>((total, s) => tf.add(total, s), tf.scalar(0)));
}

/**
 * A gradient clipped as --clip-value and --max-grad-norm ask, the same for every method, in the
 * order of LOMO's reference code (OpenLMLab's lomo.py): clamp each element to [−clipValue,
 * clipValue], then scale by `coefficient` (clipCoefficient of the raw gradients' global norm).
 * Returns `grad` itself when there is nothing to do, else a new tensor.
 */
export function clipGradient(grad: Tensor, coefficient: number, clipValue?: number): Tensor {
  if (coefficient === 1 && clipValue === undefined) return grad;
  return tf.tidy(() => {
    const clamped = clipValue === undefined ? grad : clipByValue(grad, clipValue);
    return coefficient === 1 ? clamped : tf.mul(clamped, coefficient);
  });
}

/** LOMO's clip coefficient from the global norm: min(maxNorm / (totalNorm + 1e-6), 1). */
export function clipCoefficient(totalNorm: number, maxNorm: number): number {
  return Math.min(maxNorm / (totalNorm + 1e-6), 1);
}
