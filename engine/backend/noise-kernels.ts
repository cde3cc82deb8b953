// The NoiseAxpy kernel: out = a·x + b·T(z) with z the counter-based normal noise of
// engine/util/counter-rng.ts, generated where the tensor lives. One output buffer and nothing
// else: no noise tensor, no host upload (tf.randomNormal fills a host array and uploads it).
// cpu and wasm run the reference loop over the backend's own memory; webgpu runs the same hash
// in a shader. The tensorflow backend cannot take custom kernels: noise-composite.ts.
import { noiseAxpyInto, streamKey, type NoiseTransform } from '../util/counter-rng.js';
import {
  registerKernels,
  type CpuBackend,
  type ShaderProgram,
  type WasmBackend,
  type WebGpuBackend,
} from './custom-kernels.js';
import type { tf } from './tf.js';

export const NOISE_AXPY = 'WhetstoneNoiseAxpy';

export interface NoiseAxpyAttrs {
  a: number;
  b: number;
  seed: number;
  stream: number;
  transform: NoiseTransform;
  /** Output shape (needed when there is no x). */
  shape: number[];
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b, seed, stream, transform, shape } = attrs as unknown as NoiseAxpyAttrs;
  const cpu = backend as unknown as CpuBackend;
  const x = inputs.x;
  const out = new Float32Array(size(shape));
  const xs = x ? cpu.readSync(x.dataId) : undefined;
  noiseAxpyInto(out, xs, a, b, seed, stream, transform);
  return cpu.makeTensorInfo(shape, 'float32', out);
};

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b, seed, stream, transform, shape } = attrs as unknown as NoiseAxpyAttrs;
  const heap = backend as unknown as WasmBackend;
  const x = inputs.x;
  const out = heap.makeOutput(shape, 'float32');
  // Views after the allocation: growing the heap detaches earlier ones.
  noiseAxpyInto(
    heap.typedArrayFromHeap(out),
    x && heap.typedArrayFromHeap(x),
    a,
    b,
    seed,
    stream,
    transform,
  );
  return out;
};

/** The webgpu program: one invocation per element pair, the hash as in counter-rng.ts. */
class NoiseAxpyProgram implements ShaderProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly uniforms = 'a : f32, b : f32, key : u32,';
  readonly size = true;

  constructor(
    shape: number[],
    private readonly withX: boolean,
    private readonly transform: NoiseTransform,
  ) {
    this.outputShape = shape;
    this.variableNames = withX ? ['x'] : [];
    this.shaderKey = `whetstoneNoiseAxpy_${withX}_${transform}`;
    this.dispatch = [Math.ceil(Math.ceil(size(shape) / 2) / 64), 1, 1];
  }

  getUserCode(): string {
    const term = (z: string, i: string) => {
      const t =
        this.transform === 'sign'
          ? `sign(${z})`
          : this.transform === 'square'
            ? `(${z}) * (${z})`
            : z;
      return this.withX
        ? `uniforms.a * getXByOutputIndex(${i}) + uniforms.b * ${t}`
        : `uniforms.b * ${t}`;
    };
    return `
      fn mix32(v : u32) -> u32 {
        var x = v;
        x = x ^ (x >> 16u);
        x = x * 0x7feb352du;
        x = x ^ (x >> 15u);
        x = x * 0x846ca68bu;
        return x ^ (x >> 16u);
      }
      fn unitAt(c : u32) -> f32 {
        let h = mix32(mix32(c + uniforms.key) + uniforms.key);
        return (f32(h >> 8u) + 0.5) * 5.9604644775390625e-8;
      }
      fn main(pair : i32) {
        let i = pair * 2;
        if (i < uniforms.size) {
          let r = sqrt(-2.0 * log(unitAt(u32(i))));
          let theta = 6.283185307179586 * unitAt(u32(i) + 1u) - 3.141592653589793;
          setOutputAtIndex(i, ${term('r * cos(theta)', 'i')});
          if (i + 1 < uniforms.size) {
            setOutputAtIndex(i + 1, ${term('r * sin(theta)', 'i + 1')});
          }
        }
      }
    `;
  }
}

const webgpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b, seed, stream, transform, shape } = attrs as unknown as NoiseAxpyAttrs;
  const x = inputs.x;
  const program = new NoiseAxpyProgram(shape, x !== undefined, transform);
  return (backend as unknown as WebGpuBackend).runWebGPUProgram(program, x ? [x] : [], 'float32', [
    { type: 'float32', data: [a] },
    { type: 'float32', data: [b] },
    { type: 'uint32', data: [streamKey(seed, stream)] },
  ]);
};

/** Register NoiseAxpy for cpu, wasm and webgpu. Idempotent. */
export function registerNoiseKernels(): void {
  registerKernels(NOISE_AXPY, { cpu: cpuKernel, wasm: wasmKernel, webgpu: webgpuKernel });
}
