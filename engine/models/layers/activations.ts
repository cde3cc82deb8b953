// Activation functions by their Hugging Face names (config `hidden_act` / `activation_function`).
import { WhetstoneError } from '../../errors.js';
import { tf, type Tensor } from '../../backend/tf.js';

export type Activation = (x: Tensor) => Tensor;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`). */
function geluTanh(x: Tensor): Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), SQRT_2_OVER_PI);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** GELU, exact (`gelu`): x * Phi(x). */
function geluErf(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

function silu(x: Tensor): Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

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
