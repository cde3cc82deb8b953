// Language-model losses. Causal: logits at position t predict token t+1; a mask marks which
// tokens count as targets (completions, assistant turns), so prompts and padding cost nothing.
// Aligned (masked LMs): logits at t predict `labels[t]` where the mask is 1, optionally over a
// few label words' logits only (prompt-based classification).
import { tf, type Scalar, type Tensor2D, type Tensor3D } from '../backend/tf.js';

/** What a loss reads from a batch: causal when `labels` is absent. */
export interface LossTargets {
  /** [B, T] int32 input ids. */
  ids: Tensor2D;
  /** [B, T] float32: 1 where position t is a target. */
  mask: Tensor2D;
  /** [B, T] int32 target at each position (masked LMs); an index into labelWords when given. */
  labels?: Tensor2D;
  /** Vocabulary ids of the label words: the softmax runs over these logits only. */
  labelWords?: readonly number[];
}

/** Negative log-likelihood of every next token: logits [B, T, V], ids [B, T] -> [B, T-1]. */
export function nextTokenNll(logits: Tensor3D, ids: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const n = b * (t - 1);
    const predicting = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [n, v]); // [N, V]
    const targets = tf.reshape(tf.slice(ids, [0, 1], [b, t - 1]), [n]); // [N]
    // Each row's target as an index into the flattened [N·V] log-probabilities: a plain gather
    // whose gradient is one scatter. (A batched gather's gradient splits [N, V] into N pieces,
    // and logSumExp's goes through an equality mask: both were the slowest kernels of a step.)
    const rowStart = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32'));
    const flatIndex = tf.add(rowStart, tf.cast(targets, 'int32')); // [N]
    const logProbs = tf.reshape(tf.logSoftmax(predicting), [n * v]);
    return tf.reshape(tf.neg(tf.gather(logProbs, flatIndex)), [b, t - 1]);
  });
}

/** NLL of the target at every position: logits [B, T, V], labels [B, T] -> [B, T]. */
export function alignedNll(logits: Tensor3D, labels: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const n = b * t;
    // A flat gather, as in nextTokenNll: one scatter for its gradient.
    const rowStart = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32'));
    const flatIndex = tf.add(rowStart, tf.reshape(tf.cast(labels, 'int32'), [n]));
    const logProbs = tf.reshape(tf.logSoftmax(tf.reshape(logits, [n, v])), [n * v]);
    return tf.reshape(tf.neg(tf.gather(logProbs, flatIndex)), [b, t]);
  });
}

/** Sum of NLL over a batch's targets and their number, causal or aligned as the batch says. */
export function targetNll(logits: Tensor3D, batch: LossTargets): { sum: Scalar; count: Scalar } {
  if (!batch.labels) return maskedNll(logits, batch.ids, batch.mask);
  const labels = batch.labels;
  return tf.tidy(() => {
    const words = batch.labelWords;
    const scored = words ? tf.gather(logits, tf.tensor1d([...words], 'int32'), 2) : logits;
    const weights = tf.cast(batch.mask, 'float32');
    const nll = alignedNll(scored, labels);
    return { sum: tf.sum(tf.mul(nll, weights)), count: tf.sum(weights) };
  });
}

/** Mean NLL over a batch's targets: the training loss of every method. */
export function targetLoss(logits: Tensor3D, batch: LossTargets): Scalar {
  return tf.tidy(() => {
    const { sum, count } = targetNll(logits, batch);
    return tf.div(sum, tf.maximum(count, 1));
  });
}

/** Sum of NLL over target tokens and the number of targets. mask [B, T]: 1 where token t is a target. */
export function maskedNll(
  logits: Tensor3D,
  ids: Tensor2D,
  mask?: Tensor2D,
): { sum: Scalar; count: Scalar } {
  return tf.tidy(() => {
    const [b, t] = ids.shape;
    const nll = nextTokenNll(logits, ids);
    const weights = mask
      ? tf.slice(tf.cast(mask, 'float32'), [0, 1], [b, t - 1])
      : tf.onesLike(nll);
    return { sum: tf.sum(tf.mul(nll, weights)), count: tf.sum(weights) };
  });
}

/** Mean NLL over the target tokens: the causal-LM training loss. */
export function causalLmLoss(logits: Tensor3D, ids: Tensor2D, mask?: Tensor2D): Scalar {
  return tf.tidy(() => {
    const { sum, count } = maskedNll(logits, ids, mask);
    return tf.div(sum, tf.maximum(count, 1));
  });
}
