// Activation functions by their Hugging Face names (config `hidden_act` / `activation_function`).
import { WhetstoneError } from '../../errors.js';
import { tf, type Tensor } from '../../backend/tf.js';

export type Activation = (x: Tensor) => Tensor;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * An elementwise activation whose backward keeps only its input and recomputes its slope there.
 * Written as plain ops, backprop would keep every intermediate ([.., I]-sized, nine of them for
 * tanh-GELU) for each layer; fused kernels elsewhere do the same as this.
 */
function elementwise(forward: (x: Tensor) => Tensor, slope: (x: Tensor) => Tensor): Activation {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as Tensor;
    (args[1] as tf.GradSaveFunc)([x]);
    return {
      value: tf.tidy(() => forward(x)),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) =>
        tf.tidy(() => tf.mul(dy as Tensor, slope(saved[0]!))),
    };
  });
  return (x) => op(x);
}

/** tanh(√(2/π)(x + 0.044715x³)), the inside of tanh-GELU. */
const geluTanhInner = (x: Tensor) =>
  tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), SQRT_2_OVER_PI));

/** GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`): 0.5x(1 + t). */
const geluTanh = elementwise(
  (x) => tf.mul(tf.mul(x, 0.5), tf.add(geluTanhInner(x), 1)),
  // 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
  (x) => {
    const t = geluTanhInner(x);
    const dInner = tf.mul(tf.add(tf.mul(tf.square(x), 3 * 0.044715), 1), SQRT_2_OVER_PI);
    return tf.add(
      tf.mul(tf.add(t, 1), 0.5),
      tf.mul(tf.mul(tf.mul(x, 0.5), tf.sub(1, tf.square(t))), dInner),
    );
  },
);

/** Φ(x) = (1 + erf(x/√2)) / 2, the standard normal distribution function. */
const normalCdf = (x: Tensor) => tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);

/** GELU, exact (`gelu`, BERT and RoBERTa): x·Φ(x), with slope Φ(x) + x·φ(x). */
const geluErf = elementwise(
  (x) => tf.mul(x, normalCdf(x)),
  (x) =>
    tf.add(
      normalCdf(x),
      tf.mul(x, tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI))),
    ),
);

/** SiLU, x·σ(x), with slope σ(1 + x(1 − σ)). */
const silu = elementwise(
  (x) => tf.mul(x, tf.sigmoid(x)),
  (x) => {
    const s = tf.sigmoid(x);
    return tf.mul(s, tf.add(tf.mul(x, tf.sub(1, s)), 1));
  },
);

const activations: Record<string, Activation> = {
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
  gelu: geluErf,
  silu,
  swish: silu,
  relu: (x) => tf.relu(x),
};

/** The activation named by a config, or a CONFIG_INVALID error listing the supported ones. */
export function activationByName(name: string, file: string): Activation {
  const fn = activations[name];
  if (fn === undefined) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file}: activation "${name}" is not supported (supported: ${Object.keys(activations).join(', ')}).`,
    );
  }
  return fn;
}
