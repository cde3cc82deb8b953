// Normalisation layers over the last axis, computed in float32 as the reference models do.
import { tf, type Tensor } from '../../backend/tf.js';

/** RMSNorm (Llama): x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm<T extends Tensor>(x: T, weight: Tensor, eps: number): T {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true);
    return tf.mul<T>(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight);
  });
}

/** LayerNorm (GPT-2, OPT): (x - mean) / sqrt(var + eps) * weight + bias; affine parts optional. */
export function layerNorm<T extends Tensor>(
  x: T,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  eps: number,
): T {
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), -1, true);
    let y: Tensor = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    if (weight !== undefined) y = tf.mul(y, weight);
    if (bias !== undefined) y = tf.add(y, bias);
    return y as T;
  });
}
