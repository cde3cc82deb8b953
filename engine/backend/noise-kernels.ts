// The NoiseAxpy kernel: out = a·x + b·T(z) with z the counter-based normal noise of
// engine/util/counter-rng.ts, generated where the tensor lives. One output buffer and nothing
// else: no noise tensor, no host upload (tf.randomNormal fills a host array and uploads it).
// cpu runs the reference loop over the backend's own memory, wasm a SIMD module on its heap
// (noise-simd.ts; the loop where the module cannot load), webgpu the same steps in a shader.
// The tensorflow backend cannot take custom kernels: noise-composite.ts.
import {
  NOISE_CONSTANTS as C,
  noiseAxpyInto,
  streamKey,
  type NoiseTransform,
} from '../util/counter-rng.js';
import {
  registerKernels,
  type CpuBackend,
  type ShaderProgram,
  type WasmBackend,
  type WebGpuBackend,
} from './custom-kernels.js';
import { simdNoiseAxpy, simdNoiseOn } from './noise-simd.js';
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
  const outView = heap.typedArrayFromHeap(out);
  const xView = x && heap.typedArrayFromHeap(x);
  const simd = simdNoiseOn(backend);
  if (simd) simdNoiseAxpy(simd, outView, xView, a, b, streamKey(seed, stream), transform);
  else noiseAxpyInto(outView, xView, a, b, seed, stream, transform);
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
      fn bitsAt(c : u32) -> u32 {
        return mix32(mix32(c + uniforms.key) + uniforms.key);
      }
      // z for the pair whose first counter is c: the float32 steps of noiseAxpyRange, with the
      // same constants (each printed as its exact value, which WGSL rounds back to the f32).
      fn normalPair(c : u32) -> vec2<f32> {
        let h1 = bitsAt(c);
        let h2 = bitsAt(c + 1u);
        let u = f32(i32(2u * (h1 >> 9u) + 1u)) * 5.9604644775390625e-8;
        let ix = bitcast<u32>(u) - 0x3f3504f3u;
        let e = f32(bitcast<i32>(ix) >> 23u);
        let m = bitcast<f32>((ix & 0x7fffffu) + 0x3f3504f3u);
        let s = (m - 1.0) / (m + 1.0);
        let s2 = s * s;
        let lnm = s * (2.0 + s2 * (${C.LOG_1} + s2 * (${C.LOG_2}
          + s2 * (${C.LOG_3} + s2 * ${C.LOG_4}))));
        let r = sqrt(-2.0 * (e * ${C.LN2} + lnm));
        let o = h2 >> 29u;
        let w = ((h2 >> 8u) & 0x1fffffu) ^ select(0u, 0x1fffffu, (o & 1u) == 1u);
        let t = f32(i32(2u * w + 1u)) * 2.384185791015625e-7;
        let t2 = t * t;
        let sn = t * (${C.SIN_0} + t2 * (${C.SIN_1} + t2 * (${C.SIN_2}
          + t2 * (${C.SIN_3} + t2 * ${C.SIN_4}))));
        let cs = 1.0 + t2 * (${C.COS_1} + t2 * (${C.COS_2} + t2 * (${C.COS_3}
          + t2 * (${C.COS_4} + t2 * ${C.COS_5}))));
        let swap = ((o + 1u) & 2u) != 0u;
        let cosTheta = select(cs, sn, swap);
        let sinTheta = select(sn, cs, swap);
        return r * vec2<f32>(
          select(cosTheta, -cosTheta, ((o + 2u) & 4u) != 0u),
          select(sinTheta, -sinTheta, (o & 4u) != 0u));
      }
      fn main(pair : i32) {
        let i = pair * 2;
        if (i < uniforms.size) {
          let z = normalPair(u32(i));
          setOutputAtIndex(i, ${term('z.x', 'i')});
          if (i + 1 < uniforms.size) {
            setOutputAtIndex(i + 1, ${term('z.y', 'i + 1')});
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
