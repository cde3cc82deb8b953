// The wasm backend in Node: tfjs's C++ kernels compiled to WebAssembly, SIMD where the runtime has
// it, one thread (tfjs's threaded build needs browser workers). Adds the kernels it lacks.
import { tf } from './tf.js';
import { WASM_HEAP_MAX_BYTES } from './fit.js';
import { BackendUnavailable, type LoadedBackend } from './types.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { guardWasmMalloc, removeAddedListeners, snapshotProcessListeners } from './wasm-guard.js';

export { WASM_HEAP_MAX_BYTES };

/** Start tfjs-backend-wasm and make it the current backend. */
export async function startWasm(): Promise<LoadedBackend> {
  const listeners = snapshotProcessListeners();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  registerWasmKernels();
  const started = await tf.setBackend('wasm');
  removeAddedListeners(listeners);
  if (!started) {
    throw new BackendUnavailable('the wasm module failed to initialise (see the warning above)');
  }
  guardWasmMalloc(
    (tf.backend() as unknown as { wasm: Parameters<typeof guardWasmMalloc>[0] }).wasm,
  );
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return {
    device: `CPU (wasm${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'})`,
    gpu: false,
    software: false,
    maxLiveBytes: WASM_HEAP_MAX_BYTES,
  };
}
