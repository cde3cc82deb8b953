// QLoRA's frozen base: the targeted linear weights held as NF4 (int32-packed codes and scales) and
// dequantized inside the forward, one module at a time. A custom gradient recomputes the
// dequantized weight for the backward instead of letting the tape keep it, so no float32 copy of
// a quantized weight outlives its matMul.
import { tf, type Tensor, type Tensor1D, type Tensor2D } from '../backend/tf.js';
import { linearWeightShape, type LinearFn, type LinearSpec } from '../models/layers/linear.js';
import type { Params } from '../models/params.js';
import { dequantizeNf4Tensor, nf4Tensors, quantizeNf4, type Nf4Tensors } from './nf4.js';
import { hasNf4Kernel, nf4DequantizeKernel } from './nf4-kernel.js';

const CODES = '.weight.nf4_codes';
const ABSMAX_CODES = '.weight.nf4_absmax_codes';
const ABSMAX_SCALES = '.weight.nf4_absmax_scales';

/** Whether a parameter name is part of a quantized weight. */
export const isNf4Param = (name: string) => /\.weight\.nf4_/.test(name);

/** Quantize `values` (the module's weight, checkpoint layout) and add it to `params` as NF4. */
export function addNf4Weight(params: Params, spec: LinearSpec, values: Float32Array): void {
  const t = nf4Tensors(quantizeNf4(values, linearWeightShape(spec)));
  params.add(`${spec.name}${CODES}`, t.codes);
  params.add(`${spec.name}${ABSMAX_CODES}`, t.absmaxCodes);
  params.add(`${spec.name}${ABSMAX_SCALES}`, t.absmaxScales);
}

export function hasNf4Weight(params: Params, module: string): boolean {
  return params.has(`${module}${CODES}`);
}

function nf4Of(params: Params, module: string): Nf4Tensors {
  return {
    codes: params.get(`${module}${CODES}`) as Tensor1D,
    absmaxCodes: params.get(`${module}${ABSMAX_CODES}`) as Tensor1D,
    absmaxScales: params.get(`${module}${ABSMAX_SCALES}`) as Tensor1D,
  };
}

/** The module's weight, dequantized (checkpoint layout). The caller disposes it. */
export function dequantizedWeight(params: Params, spec: LinearSpec): Tensor2D {
  const nf4 = nf4Of(params, spec.name);
  const shape = linearWeightShape(spec);
  // The fused kernel where the backend has it (cpu, wasm, webgpu); stock ops elsewhere.
  return (
    hasNf4Kernel() ? nf4DequantizeKernel(nf4, shape) : dequantizeNf4Tensor(nf4, shape)
  ) as Tensor2D;
}

/** Dense for ordinary modules; NF4 modules dequantize per call and recompute for the backward. */
export function nf4Linear(params: Params, dense: LinearFn): LinearFn {
  return (spec, x) => {
    if (!hasNf4Weight(params, spec.name)) return dense(spec, x);
    const transposeW = spec.layout === 'out-in';
    const product = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as Tensor;
      const value = tf.tidy(() => {
        const w = dequantizedWeight(params, spec);
        return tf.matMul(input, w, false, transposeW); // [N, out]
      });
      // dx = dy W (out-in) or dy Wᵀ (in-out); the weight gets no gradient (frozen).
      const gradFunc = (dy: Tensor) =>
        tf.tidy(() =>
          tf.matMul(dy as Tensor2D, dequantizedWeight(params, spec), false, !transposeW),
        );
      return { value, gradFunc };
    });
    const y = product(x) as Tensor2D;
    // Called inside the model's tidy scopes, which free y.
    return spec.bias ? tf.add<Tensor2D>(y, params.get(`${spec.name}.bias`)) : y;
  };
}
