// Language-model losses. Causal: logits at position t predict token t+1, and a mask marks which
// tokens count as targets (completions, assistant turns), so prompts and padding cost nothing.
// Masked (RoBERTa, BERT): logits at a marked position predict that position's label (the token
// the input hid behind <mask>), with no shift; optionally only over a few label words (prompt-based
// classification: "It was <mask>." scored over "great" / "terrible").
import { WhetstoneError } from '../errors.js';
import { tf, type Scalar, type Tensor1D, type Tensor2D, type Tensor3D } from '../backend/tf.js';

/** NLL of each row's target: logits [N, V], targets [N] (ids into V) -> [N]. */
function rowNll(logits: Tensor2D, targets: Tensor1D): Tensor1D {
  const [n, v] = logits.shape;
  // Each row's target as an index into the flattened [N·V] log-probabilities: a plain gather
  // whose gradient is one scatter. (A batched gather's gradient splits [N, V] into N pieces,
  // and logSumExp's goes through an equality mask: both were the slowest kernels of a step.)
  const rowStart = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32'));
  const flatIndex = tf.add(rowStart, tf.cast(targets, 'int32')); // [N]
  const logProbs = tf.reshape(tf.logSoftmax(logits), [n * v]);
  return tf.neg(tf.gather(logProbs, flatIndex)) as Tensor1D;
}

/** Negative log-likelihood of every next token: logits [B, T, V], ids [B, T] -> [B, T-1]. */
export function nextTokenNll(logits: Tensor3D, ids: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const n = b * (t - 1);
    const predicting = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [n, v]); // [N, V]
    const targets = tf.reshape(tf.slice(ids, [0, 1], [b, t - 1]), [n]); // [N]
    return tf.reshape(rowNll(predicting as Tensor2D, targets as Tensor1D), [b, t - 1]);
  });
}

/**
 * NLL of each position's own label (masked LMs, no shift): logits [B, T, V], labels [B, T] ->
 * [B, T]. With `labelWords` [K] (vocabulary ids), the softmax runs over those K logits only and
 * labels are indices 0..K-1 into them (MeZO's prompt-based classification loss).
 */
export function positionNll(logits: Tensor3D, labels: Tensor2D, labelWords?: Tensor1D): Tensor2D {
  return tf.tidy(() => {
    const [b, t] = labels.shape;
    const scores = labelWords ? tf.gather(logits, labelWords, 2) : logits; // [B, T, V or K]
    const k = scores.shape[2];
    const nll = rowNll(tf.reshape(scores, [b * t, k]), tf.reshape(labels, [b * t]));
    return tf.reshape(nll, [b, t]);
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

/** What a loss needs of a batch (engine/optim/method.ts's Batch is one). */
export interface LossBatch {
  /** [B, T] int32 input ids. */
  ids: Tensor2D;
  /** [B, T]: 1 where position t is a target (causal: token t; masked: the label at t). */
  mask: Tensor2D;
  /** Masked LMs: [B, T] int32 target at each position (ignored where mask is 0). */
  labels?: Tensor2D;
  /** Masked LMs: [K] int32 vocabulary ids the labels index (label words), or all of V. */
  labelWords?: Tensor1D;
}

/**
 * Sum and count of the batch's target NLL under the model's objective: next-token for causal
 * models, each marked position's label for masked LMs. Every training method's loss.
 */
export function batchNll(
  logits: Tensor3D,
  batch: LossBatch,
  objective: 'causal' | 'masked',
): { sum: Scalar; count: Scalar } {
  if (objective === 'causal') {
    if (batch.labels) {
      throw new WhetstoneError(
        'INTERNAL',
        'A causal LM was given a masked-LM batch (with labels); it trains on next tokens.',
      );
    }
    return maskedNll(logits, batch.ids, batch.mask);
  }
  if (!batch.labels) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'A masked language model (RoBERTa, BERT) trains on masked positions, but this batch marks none.',
      'Train it with masked-LM pretraining or a prompt template with a mask token.',
    );
  }
  const labels = batch.labels;
  return tf.tidy(() => {
    // Labels off the targets may hold anything (the original token); make them a valid index.
    const valid = tf.mul<Tensor2D>(labels, tf.cast(tf.notEqual(batch.mask, 0), 'int32'));
    const nll = positionNll(logits, valid, batch.labelWords);
    const weights = tf.cast(batch.mask, 'float32');
    return { sum: tf.sum(tf.mul(nll, weights)), count: tf.sum(weights) };
  });
}

/** Mean of batchNll over the targets: the training loss. */
export function batchLoss(
  logits: Tensor3D,
  batch: LossBatch,
  objective: 'causal' | 'masked',
): Scalar {
  return tf.tidy(() => {
    const { sum, count } = batchNll(logits, batch, objective);
    return tf.div(sum, tf.maximum(count, 1));
  });
}
