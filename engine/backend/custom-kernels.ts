// What Whetstone's own kernels (noise-kernels.ts, adam-step.ts) need from each backend, and their
// registration: cpu and wasm kernels loop over the backend's memory, webgpu ones run a shader.
import { tf } from './tf.js';

/** The cpu backend: values are JS typed arrays (float32 for every input our kernels take). */
export interface CpuBackend {
  readSync(dataId: tf.DataId): Float32Array;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** The wasm backend: tensors live on the wasm heap. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's bytes; valid until the next allocation (which may grow the heap). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** The parts of tfjs-backend-webgpu's program interface our shaders use. */
export interface ShaderProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  size: boolean;
  getUserCode(): string;
}

export interface WebGpuBackend {
  runWebGPUProgram(
    program: ShaderProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

/** Register `kernelName` for each backend that has no such kernel yet. Idempotent. */
export function registerKernels(
  kernelName: string,
  byBackend: Record<string, tf.KernelFunc>,
): void {
  for (const [backendName, kernelFunc] of Object.entries(byBackend)) {
    if (tf.getKernel(kernelName, backendName) === undefined)
      tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}

/** Whether the current backend has `kernelName` (else a composite of stock ops runs). */
export const hasKernel = (kernelName: string) =>
  tf.getKernel(kernelName, tf.getBackend()) !== undefined;
