// Causal language-model losses. Logits at position t predict token t+1; a mask marks which
// tokens count as targets (completions, assistant turns), so prompts and padding cost nothing.
import { tf, type Scalar, type Tensor2D, type Tensor3D } from '../backend/tf.js';

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
