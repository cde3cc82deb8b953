// Linear layers. A model names each linear module and its layout; how the product is computed is
// a pluggable function, so adapters (LoRA) and quantized weights (NF4) can wrap the dense one.
import { tf, type Tensor2D } from '../../backend/tf.js';
import type { Params } from '../params.js';

/** A linear module as stored in a Hugging Face checkpoint. */
export interface LinearSpec {
  /** Module path, e.g. `model.layers.0.self_attn.q_proj`; weights are `${name}.weight` / `.bias`. */
  name: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** `out-in` for torch.nn.Linear ([out, in]); `in-out` for GPT-2's Conv1D ([in, out]). */
  layout: 'out-in' | 'in-out';
}

/**
 * The block a module of a checkpoint belongs to, from its name (`model.layers.3.`, GPT-2's
 * `h.3.`, the encoders' `encoder.layer.3.`), or undefined outside the blocks.
 */
export function blockOf(name: string): number | undefined {
  const index = /\.(layers|layer|h)\.(\d+)\./.exec(name)?.[2];
  return index === undefined ? undefined : Number(index);
}

/** Computes `x W^T + b` for one module: x [N, in] -> [N, out]. */
export type LinearFn = (spec: LinearSpec, x: Tensor2D) => Tensor2D;

/** The shape the checkpoint stores the weight in. */
export function linearWeightShape(spec: LinearSpec): [number, number] {
  return spec.layout === 'out-in'
    ? [spec.outFeatures, spec.inFeatures]
    : [spec.inFeatures, spec.outFeatures];
}

/** The plain dense product with the model's own weights. */
export function denseLinear(params: Params): LinearFn {
  return (spec, x) => {
    const w = params.get(`${spec.name}.weight`);
    const y = tf.matMul<Tensor2D>(x, w, false, spec.layout === 'out-in'); // [N, out]
    return spec.bias ? tf.add<Tensor2D>(y, params.get(`${spec.name}.bias`)) : y;
  };
}
