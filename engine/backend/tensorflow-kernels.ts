// Kernels tfjs-node 4.22 lacks but libtensorflow has, run as native TensorFlow ops:
// - BitwiseAnd: the counter-based noise (noise-composite.ts) hashes with it.
import { tf } from './tf.js';

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_INT32: number };
  executeSingleOutput(
    op: string,
    attrs: { name: string; type: number; value: number }[],
    inputs: tf.TensorInfo[],
  ): tf.TensorInfo;
}

const bitwiseAnd: tf.KernelFunc = ({ inputs, backend }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const native = backend as unknown as NativeBackend;
  const typeAttr = { name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_INT32 };
  return native.executeSingleOutput('BitwiseAnd', [typeAttr], [a, b]);
};

/** Register the missing kernels for the 'tensorflow' backend. Idempotent. */
export function registerTensorflowKernels(): void {
  if (tf.getKernel('BitwiseAnd', 'tensorflow') === undefined) {
    tf.registerKernel({
      kernelName: 'BitwiseAnd',
      backendName: 'tensorflow',
      kernelFunc: bitwiseAnd,
    });
  }
}
