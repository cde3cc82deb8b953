// Fixes for tfjs-backend-webgpu 4.22 kernels that give wrong results, found by webgpu.test.ts
// against the cpu reference.
//
// - Cumsum / Cumprod with reverse=true: the shader bakes the scanned axis' length into its code
//   but not into its cache key, so after the first call every later reverse scan of a different
//   length reuses the wrong shader and returns shifted sums. The forward (non-reverse) shader
//   has no baked length, so a reverse scan runs as reverse(scan(reverse(x))). Training hits this
//   as the gradient of every forward cumsum.
import { tf } from './tf.js';

interface DisposingBackend {
  disposeData(dataId: tf.DataId): void;
}

/** A reverse cumulative op as reverse(forward op(reverse(x))) along the axis. */
function forwardOnly(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as tf.CumsumAttrs;
    if (!attrs.reverse) return original(args);
    const reverseKernel = tf.getKernel('Reverse', 'webgpu');
    if (reverseKernel === undefined) return original(args);
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as DisposingBackend;
    const dims = [tf.util.parseAxisParam(attrs.axis, x.shape)[0]!];
    const flip = (t: tf.TensorInfo) =>
      reverseKernel.kernelFunc({ inputs: { x: t }, backend, attrs: { dims } }) as tf.TensorInfo;
    const flipped = flip(x);
    const scanned = original({
      inputs: { x: flipped },
      backend,
      attrs: { ...attrs, reverse: false },
    }) as tf.TensorInfo;
    const out = flip(scanned);
    backend.disposeData(flipped.dataId);
    backend.disposeData(scanned.dataId);
    return out;
  };
}

const wrappers: Record<string, (original: tf.KernelFunc) => tf.KernelFunc> = {
  Cumsum: forwardOnly,
  Cumprod: forwardOnly,
};
export const wrappedWebGpuKernels: readonly string[] = Object.keys(wrappers);

const ours = new WeakSet<tf.KernelFunc>();

/** Wrap the broken webgpu kernels. Idempotent; call after importing tfjs-backend-webgpu. */
export function registerWebGpuKernels(): void {
  for (const [kernelName, wrap] of Object.entries(wrappers)) {
    const config = tf.getKernel(kernelName, 'webgpu');
    if (config === undefined || ours.has(config.kernelFunc)) continue;
    const kernelFunc = wrap(config.kernelFunc);
    ours.add(kernelFunc);
    tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel({ ...config, kernelFunc });
  }
}
