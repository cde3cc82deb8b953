// The AdamStep kernel: θ' = d·θ − s·m / (sqrt(c·v) + ε) in one pass, one output buffer. ZO-Adam
// updates its moments from the noise in place of a gradient; this last step would otherwise hold
// m/(√v̂ + ε) beside θ's new value, two tensor-sized temporaries instead of one. cpu and wasm run a
// loop over the backend's memory, webgpu a shader, other backends (tensorflow) stock ops.
import {
  hasKernel,
  registerKernels,
  type CpuBackend,
  type ShaderProgram,
  type WasmBackend,
  type WebGpuBackend,
} from './custom-kernels.js';
import { tf, type Tensor } from './tf.js';

export const ADAM_STEP = 'WhetstoneAdamStep';

export interface AdamStepAttrs {
  /** Decoupled weight decay factor for θ (1 for none). */
  decay: number;
  /** Step size with the first moment's bias correction, lr / (1 − β1ᵗ). */
  scale: number;
  /** The second moment's bias correction, 1 / (1 − β2ᵗ). */
  vScale: number;
  eps: number;
}

function adamLoop(
  out: Float32Array,
  x: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: AdamStepAttrs,
) {
  for (let i = 0; i < out.length; i++) {
    out[i] = a.decay * x[i]! - (a.scale * m[i]!) / (Math.sqrt(a.vScale * v[i]!) + a.eps);
  }
}

type Inputs = { x: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, m, v } = inputs as Inputs;
  const cpu = backend as unknown as CpuBackend;
  const out = new Float32Array(tf.util.sizeFromShape(x.shape));
  adamLoop(
    out,
    cpu.readSync(x.dataId),
    cpu.readSync(m.dataId),
    cpu.readSync(v.dataId),
    attrs as unknown as AdamStepAttrs,
  );
  return cpu.makeTensorInfo(x.shape, 'float32', out);
};

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, m, v } = inputs as Inputs;
  const heap = backend as unknown as WasmBackend;
  const out = heap.makeOutput(x.shape, 'float32');
  // Views after the allocation: growing the heap detaches earlier ones.
  const view = (t: tf.TensorInfo) => heap.typedArrayFromHeap(t);
  adamLoop(view(out), view(x), view(m), view(v), attrs as unknown as AdamStepAttrs);
  return out;
};

class AdamStepProgram implements ShaderProgram {
  readonly variableNames = ['x', 'm', 'v'];
  readonly outputShape: number[];
  readonly shaderKey = 'whetstoneAdamStep';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly uniforms = 'decay : f32, scale : f32, vScale : f32, eps : f32,';
  readonly size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(shape) / 64), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let denom = sqrt(uniforms.vScale * getVByOutputIndex(index)) + uniforms.eps;
          setOutputAtIndex(index, uniforms.decay * getXByOutputIndex(index) - uniforms.scale * getMByOutputIndex(index) / denom);
        }
      }
    `;
  }
}

const webgpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, m, v } = inputs as Inputs;
  const a = attrs as unknown as AdamStepAttrs;
  const gpu = backend as unknown as WebGpuBackend;
  return gpu.runWebGPUProgram(new AdamStepProgram(x.shape), [x, m, v], 'float32', [
    { type: 'float32', data: [a.decay] },
    { type: 'float32', data: [a.scale] },
    { type: 'float32', data: [a.vScale] },
    { type: 'float32', data: [a.eps] },
  ]);
};

registerKernels(ADAM_STEP, { cpu: cpuKernel, wasm: wasmKernel, webgpu: webgpuKernel });

/** θ' = decay·θ − scale·m / (sqrt(vScale·v) + eps): one new tensor where the kernel exists. */
export function adamStep(x: Tensor, m: Tensor, v: Tensor, attrs: AdamStepAttrs): Tensor {
  if (hasKernel(ADAM_STEP)) {
    return tf
      .engine()
      .runKernel<Tensor>(ADAM_STEP, { x, m, v }, attrs as unknown as tf.NamedAttrMap);
  }
  return tf.tidy(() =>
    tf.sub(
      tf.mul(x, attrs.decay),
      tf.div(tf.mul(m, attrs.scale), tf.add(tf.sqrt(tf.mul(v, attrs.vScale)), attrs.eps)),
    ),
  );
}
