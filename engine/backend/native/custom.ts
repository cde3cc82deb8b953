// Whetstone's own kernels (AdamStep, NF4 dequantize) in C++ for the native backend.
import { ADAM_STEP, type AdamStepAttrs } from '../adam-step.js';
import { AXPBY, SUM_SQUARES, type AxpbyAttrs } from '../fused.js';
import { NOISE_AXPY, type NoiseAxpyAttrs } from '../noise-kernels.js';
import { streamKey } from '../../util/counter-rng.js';
import { tf } from '../tf.js';
import { NF4_DEQUANTIZE, type Nf4DequantizeAttrs } from '../../peft/nf4-kernel.js';
import { ABSMAX_BLOCK, DYNAMIC_CODE, NF4_BLOCK, NF4_CODE } from '../../peft/nf4.js';
import type { NativeAddon } from './addon.js';
import type { CpuStorage } from './kernels.js';

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

function replace(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/** NoiseTransform codes, as native/src/noise.h numbers them. */
const transforms = { none: 0, sign: 1, square: 2 } as const;

export function registerNativeCustomKernels(backendName: string, addon: NativeAddon): void {
  replace(AXPBY, backendName, ({ inputs, backend, attrs }) => {
    const b = backend as unknown as CpuStorage;
    const { x, y } = inputs as Record<'x' | 'y', tf.TensorInfo>;
    const read = (t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array;
    const { a, b: scale } = attrs as unknown as AxpbyAttrs;
    const out = b.pool.alloc('float32', size(x.shape)) as Float32Array;
    addon.axpby(read(x), a, read(y), scale, out);
    return b.makeTensorInfo(x.shape, 'float32', out);
  });
  replace(SUM_SQUARES, backendName, ({ inputs, backend }) => {
    const b = backend as unknown as CpuStorage;
    const x = inputs.x as tf.TensorInfo;
    const total = addon.sumSquares(b.data.get(x.dataId).values as Float32Array);
    return b.makeTensorInfo([], 'float32', Float32Array.of(total));
  });
  replace(NOISE_AXPY, backendName, ({ inputs, backend, attrs }) => {
    const b = backend as unknown as CpuStorage;
    const { a, b: scale, seed, stream, transform, shape } = attrs as unknown as NoiseAxpyAttrs;
    const x = inputs.x;
    const out = b.pool.alloc('float32', size(shape)) as Float32Array;
    const xs = x ? (b.data.get(x.dataId).values as Float32Array) : null;
    addon.noiseAxpy(out, xs, a, scale, streamKey(seed, stream), transforms[transform]);
    return b.makeTensorInfo(shape, 'float32', out);
  });
  replace(ADAM_STEP, backendName, ({ inputs, backend, attrs }) => {
    const b = backend as unknown as CpuStorage;
    const read = (t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array;
    const { x, m, v } = inputs as Record<'x' | 'm' | 'v', tf.TensorInfo>;
    const a = attrs as unknown as AdamStepAttrs;
    const out = b.pool.alloc('float32', size(x.shape)) as Float32Array;
    addon.adamStep(read(x), read(m), read(v), out, a.decay, a.scale, a.vScale, a.eps);
    return b.makeTensorInfo(x.shape, 'float32', out);
  });
  replace(NF4_DEQUANTIZE, backendName, ({ inputs, backend, attrs }) => {
    const b = backend as unknown as CpuStorage;
    const read = (t: tf.TensorInfo) => b.data.get(t.dataId).values;
    const { codes, absmaxCodes, absmaxScales } = inputs as Record<
      'codes' | 'absmaxCodes' | 'absmaxScales',
      tf.TensorInfo
    >;
    const { shape } = attrs as unknown as Nf4DequantizeAttrs;
    const out = b.pool.alloc('float32', size(shape)) as Float32Array;
    addon.nf4Dequantize(
      read(codes) as Int32Array,
      read(absmaxCodes) as Int32Array,
      read(absmaxScales) as Float32Array,
      NF4_CODE,
      DYNAMIC_CODE,
      out,
      NF4_BLOCK,
      ABSMAX_BLOCK,
    );
    return b.makeTensorInfo(shape, 'float32', out);
  });
}
