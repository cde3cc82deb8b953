// The wasm backend in Node: tfjs's C++ kernels compiled to WebAssembly, SIMD where the runtime has
// it, one thread (tfjs's threaded build needs browser workers). Adds the kernels it lacks.
import { tf } from './tf.js';
import { BackendUnavailable, type LoadedBackend } from './types.js';
import { registerWasmKernels } from './wasm-kernels.js';

/**
 * The wasm32 heap's ceiling (tfjs-backend-wasm's build: 4 GiB less one 64 KiB page). All live
 * tensors share it; past it the module traps instead of throwing a clean error.
 */
export const WASM_HEAP_MAX_BYTES = 4 * 1024 ** 3 - 64 * 1024;

/** Start tfjs-backend-wasm and make it the current backend. */
export async function startWasm(): Promise<LoadedBackend> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailable('the wasm module failed to initialise (see the warning above)');
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return {
    device: `CPU (wasm${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'})`,
    gpu: false,
    software: false,
    maxLiveBytes: WASM_HEAP_MAX_BYTES,
  };
}
