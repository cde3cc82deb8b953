// Keeps the wasm heap from overflowing silently. tfjs-backend-wasm takes a tensor's memory with
// the module's malloc and writes to the address it returns; past the 4 GiB ceiling malloc returns
// 0 and the tensor is written over the start of the heap, so later steps compute on overwritten
// memory. The guard checks the live-bytes ceiling before each malloc and refuses a null result.
// Emscripten's glue also installs process handlers that rethrow every uncaught error, which turns
// any async failure into Node's exit code 7; they are removed so the engine's hosts decide.
import { WhetstoneError } from '../errors.js';
import { formatBytes } from './fit.js';
import { memory } from './memory.js';

interface WasmModule {
  _malloc: (bytes: number) => number;
  asm?: { malloc?: (bytes: number) => number };
}

const guarded = new WeakSet<object>();

/** Route the module's JS-side malloc (every tensor buffer) through the live-bytes ceiling. */
export function guardWasmMalloc(wasm: WasmModule): void {
  if (guarded.has(wasm)) return;
  guarded.add(wasm);
  const lazy = wasm._malloc;
  // Emscripten's `_malloc` replaces itself with the raw export on first call; call the export
  // directly and ignore that assignment, so the guard stays in place.
  const raw = (bytes: number) => (wasm.asm?.malloc ?? lazy).call(wasm, bytes);
  const malloc = (bytes: number): number => {
    memory.checkAllocation(bytes);
    const address = raw(bytes);
    if (address === 0 && bytes > 0) {
      throw new WhetstoneError(
        'DEVICE_LIMIT',
        `The wasm heap is full: it could not give ${formatBytes(bytes)} more with ${formatBytes(memory.liveBytes)} of tensors alive.`,
        'Use a smaller run (whetstone estimate compares methods and backends) or --backend cpu, which is bounded by host memory only.',
      );
    }
    return address;
  };
  Object.defineProperty(wasm, '_malloc', {
    configurable: true,
    get: () => malloc,
    set: () => undefined,
  });
}

type Listener = (...args: unknown[]) => void;

/** The process listeners present now, to tell later which ones a module added. */
export function snapshotProcessListeners(): Map<string, Listener[]> {
  return new Map([
    ['uncaughtException', process.listeners('uncaughtException') as Listener[]],
    ['unhandledRejection', process.listeners('unhandledRejection') as Listener[]],
  ]);
}

/** Remove the uncaught-error listeners added since `before` (emscripten's rethrowing ones). */
export function removeAddedListeners(before: Map<string, Listener[]>): number {
  let removed = 0;
  for (const [event, had] of before) {
    for (const listener of process.listeners(event as 'uncaughtException') as Listener[]) {
      if (had.includes(listener)) continue;
      process.removeListener(event, listener);
      removed++;
    }
  }
  return removed;
}
