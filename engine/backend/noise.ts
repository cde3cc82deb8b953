// Counter-based noise ops for the zeroth-order methods: noiseAxpy (a·x + b·z in one kernel) and
// normalNoise. The custom kernel runs where it is registered (cpu, wasm, webgpu), the composite
// elsewhere; both draw the same z from (seed, stream, element).
import type { NoiseTransform } from '../util/counter-rng.js';
import { hasKernel } from './custom-kernels.js';
import { noiseAxpyComposite } from './noise-composite.js';
import { NOISE_AXPY, registerNoiseKernels, type NoiseAxpyAttrs } from './noise-kernels.js';
import { tf, type Tensor } from './tf.js';

registerNoiseKernels();

export interface NoiseOptions {
  seed: number;
  /** Which stream of the seed: one per tensor (streamOf(name)). */
  stream: number;
  transform?: NoiseTransform;
}

/** a·x + b·T(z), z ~ N(0, I) drawn from (seed, stream): one output tensor and no other. */
export function noiseAxpy(x: Tensor, a: number, b: number, opts: NoiseOptions): Tensor {
  return run(x, a, b, opts, x.shape);
}

/** z ~ N(0, I) of `shape` from (seed, stream). */
export function normalNoise(shape: number[], opts: NoiseOptions): Tensor {
  return run(undefined, 0, 1, opts, shape);
}

/** Whether the current backend generates noise in a kernel (else a composite of stock ops). */
export function hasNoiseKernel(): boolean {
  return hasKernel(NOISE_AXPY);
}

function run(
  x: Tensor | undefined,
  a: number,
  b: number,
  opts: NoiseOptions,
  shape: number[],
): Tensor {
  const transform = opts.transform ?? 'none';
  if (x !== undefined && x.dtype !== 'float32') {
    throw new Error(`noiseAxpy takes float32 tensors, got ${x.dtype}`);
  }
  if (!hasNoiseKernel()) {
    return noiseAxpyComposite(x, a, b, opts.seed, opts.stream, transform, shape);
  }
  const attrs: NoiseAxpyAttrs = { a, b, seed: opts.seed, stream: opts.stream, transform, shape };
  const inputs: tf.NamedTensorMap = x ? { x } : {};
  return tf.engine().runKernel<Tensor>(NOISE_AXPY, inputs, attrs as unknown as tf.NamedAttrMap);
}
