// The Nf4Dequantize kernel: int32-packed NF4 codes and double-quantized block scales in, the
// float32 weight out, in one pass and one output buffer (no unpacked codes, no gathered values).
// cpu and wasm run a loop over the backend's memory, webgpu a shader; a backend without the
// kernel (tensorflow) takes nf4.ts's composite of stock ops.
import {
  hasKernel,
  registerKernels,
  type CpuBackend,
  type ShaderProgram,
  type WasmBackend,
  type WebGpuBackend,
} from '../backend/custom-kernels.js';
import { tf, type Tensor } from '../backend/tf.js';
import { ABSMAX_BLOCK, DYNAMIC_CODE, NF4_BLOCK, NF4_CODE } from './nf4.js';

export const NF4_DEQUANTIZE = 'WhetstoneNf4Dequantize';

export interface Nf4DequantizeAttrs {
  /** The weight's shape; its size is the number of codes used. */
  shape: number[];
}

type Inputs = { codes: tf.TensorInfo; absmaxCodes: tf.TensorInfo; absmaxScales: tf.TensorInfo };

/** The byte `k` of a little-endian int32-packed byte array. */
const byteAt = (words: Int32Array, k: number) => (words[k >> 2]! >>> ((k & 3) * 8)) & 255;

/** out[i] = code[idx_i] · absmax[block(i)], every product rounded to float32 as nf4.ts does. */
export function dequantizeInto(
  out: Float32Array,
  codes: Int32Array,
  absmaxCodes: Int32Array,
  absmaxScales: Float32Array,
): void {
  const groups = absmaxScales.length - 1;
  const offset = absmaxScales[groups]!;
  const blocks = Math.ceil(out.length / NF4_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const groupScale = absmaxScales[Math.floor(b / ABSMAX_BLOCK)]!;
    const scale = Math.fround(
      Math.fround(DYNAMIC_CODE[byteAt(absmaxCodes, b)]! * groupScale) + offset,
    );
    const end = Math.min(out.length, (b + 1) * NF4_BLOCK);
    for (let i = b * NF4_BLOCK; i < end; i++) {
      const byte = byteAt(codes, i >> 1);
      out[i] = NF4_CODE[i % 2 === 0 ? byte >> 4 : byte & 15]! * scale;
    }
  }
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { codes, absmaxCodes, absmaxScales } = inputs as Inputs;
  const { shape } = attrs as unknown as Nf4DequantizeAttrs;
  const cpu = backend as unknown as CpuBackend;
  const read = (t: tf.TensorInfo) => cpu.readSync(t.dataId) as unknown;
  const out = new Float32Array(size(shape));
  dequantizeInto(
    out,
    read(codes) as Int32Array,
    read(absmaxCodes) as Int32Array,
    read(absmaxScales) as Float32Array,
  );
  return cpu.makeTensorInfo(shape, 'float32', out);
};

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { codes, absmaxCodes, absmaxScales } = inputs as Inputs;
  const { shape } = attrs as unknown as Nf4DequantizeAttrs;
  const heap = backend as unknown as WasmBackend;
  const out = heap.makeOutput(shape, 'float32');
  // Views after the allocation: growing the heap detaches earlier ones.
  const view = (t: tf.TensorInfo) => heap.typedArrayFromHeap(t) as unknown;
  dequantizeInto(
    view(out) as Float32Array,
    view(codes) as Int32Array,
    view(absmaxCodes) as Int32Array,
    view(absmaxScales) as Float32Array,
  );
  return out;
};

/** A WGSL array literal of float32 values, each written exactly (shortest round-trip form). */
const wgslTable = (name: string, values: Float32Array) =>
  `var<private> ${name} : array<f32, ${values.length}> = array<f32, ${values.length}>(${Array.from(
    values,
    (v) => `${v}f`,
  ).join(', ')});`;

/** One invocation per weight element; the products are rounded to f32 at each step. */
class Nf4DequantizeProgram implements ShaderProgram {
  readonly variableNames = ['codes', 'absmaxCodes', 'absmaxScales'];
  readonly outputShape: number[];
  readonly shaderKey = 'whetstoneNf4Dequantize';
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly uniforms = 'groups : i32,';
  readonly size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatch = [Math.ceil(size(shape) / 64), 1, 1];
  }

  getUserCode(): string {
    return `
      ${wgslTable('NF4_CODE', NF4_CODE)}
      ${wgslTable('DYNAMIC_CODE', DYNAMIC_CODE)}
      fn byteAt(word : i32, k : i32) -> u32 {
        return (bitcast<u32>(word) >> (u32(k & 3) * 8u)) & 255u;
      }
      fn main(index : i32) {
        if (index < uniforms.size) {
          let b = index / ${NF4_BLOCK};
          let absmaxCode = byteAt(absmaxCodes[b >> 2u], b);
          let groupScale = absmaxScales[b / ${ABSMAX_BLOCK}];
          let scale = DYNAMIC_CODE[absmaxCode] * groupScale + absmaxScales[uniforms.groups];
          let k = index >> 1u;
          let byte = byteAt(codes[k >> 2u], k);
          let code = select(byte & 15u, byte >> 4u, (index & 1) == 0);
          setOutputAtIndex(index, NF4_CODE[code] * scale);
        }
      }
    `;
  }
}

const webgpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { codes, absmaxCodes, absmaxScales } = inputs as Inputs;
  const { shape } = attrs as unknown as Nf4DequantizeAttrs;
  const gpu = backend as unknown as WebGpuBackend;
  const program = new Nf4DequantizeProgram(shape);
  return gpu.runWebGPUProgram(program, [codes, absmaxCodes, absmaxScales], 'float32', [
    { type: 'int32', data: [absmaxScales.shape[0]! - 1] },
  ]);
};

registerKernels(NF4_DEQUANTIZE, { cpu: cpuKernel, wasm: wasmKernel, webgpu: webgpuKernel });

/** Whether the current backend dequantizes with the kernel (else nf4.ts's stock-op composite). */
export const hasNf4Kernel = () => hasKernel(NF4_DEQUANTIZE);

/** The float32 weight of `shape` from its NF4 tensors: one new tensor, nothing else. */
export function nf4DequantizeKernel(
  inputs: { codes: Tensor; absmaxCodes: Tensor; absmaxScales: Tensor },
  shape: number[],
): Tensor {
  const attrs: Nf4DequantizeAttrs = { shape };
  return tf.engine().runKernel<Tensor>(NF4_DEQUANTIZE, inputs, attrs as unknown as tf.NamedAttrMap);
}
