// The wasm backend's NoiseAxpy as a WebAssembly SIMD module (noise-simd.wat) running on
// tfjs-backend-wasm's own heap: the module imports the backend's WebAssembly.Memory and reads and
// writes tensors where they lie. Elements past the last multiple of 8 go through the reference
// loop, which the module matches bit for bit.
import { noiseAxpyRange, type NoiseTransform } from '../util/counter-rng.js';
import { NOISE_SIMD_WASM } from './noise-simd-wasm.js';

/** The module's export: see the .wat for the parameters. */
type NoiseAxpyExport = (
  out: number,
  x: number,
  hasX: number,
  a: number,
  b: number,
  key: number,
  transform: number,
  first: number,
  count: number,
) => void;

// The engine compiles against ES2023 and Node's types, which leave WebAssembly undeclared: the
// few parts used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const TRANSFORMS: Record<NoiseTransform, number> = { none: 0, sign: 1, square: 2 };

/** The compiled module; null once compiling failed (a runtime without wasm SIMD). */
let compiled: object | null | undefined;
/** The kernel bound to each heap; null where the heap cannot be imported (a shared memory). */
const instances = new WeakMap<WasmMemory, NoiseAxpyExport | null>();

/**
 * The emscripten module's memory: tfjs-backend-wasm keeps the module as `backend.wasm`, whose
 * `asm` holds the instance's exports. Checked against HEAPU8 so a different build falls back.
 */
function heapMemory(backend: object): WasmMemory | undefined {
  const module = (backend as { wasm?: { asm?: { memory?: unknown }; HEAPU8?: Uint8Array } }).wasm;
  const memory = module?.asm?.memory;
  if (!(memory instanceof wasm.Memory)) return undefined;
  return memory.buffer === module?.HEAPU8?.buffer ? memory : undefined;
}

/** The SIMD kernel bound to `backend`'s heap, or undefined where it cannot be instantiated. */
export function simdNoiseOn(backend: object): NoiseAxpyExport | undefined {
  const memory = heapMemory(backend);
  if (memory === undefined) return undefined;
  const known = instances.get(memory);
  if (known !== undefined) return known ?? undefined;
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(Buffer.from(NOISE_SIMD_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  let run: NoiseAxpyExport | null = null;
  if (compiled !== null) {
    try {
      const instance = new wasm.Instance(compiled, { env: { memory } });
      run = instance.exports.noiseAxpy as NoiseAxpyExport;
    } catch {
      run = null;
    }
  }
  instances.set(memory, run);
  return run ?? undefined;
}

/**
 * out = a·x + b·T(z) for all of `out` under `key`, `out` and `x` being views of the heap that
 * `run` is bound to (x may be `out` itself).
 */
export function simdNoiseAxpy(
  run: NoiseAxpyExport,
  out: Float32Array,
  x: Float32Array | undefined,
  a: number,
  b: number,
  key: number,
  transform: NoiseTransform,
): void {
  const n = out.length;
  const simd = n - (n % 8);
  // Byte offsets into the heap; past 2 GiB they wrap to negative i32, which wasm reads as u32.
  run(out.byteOffset, x?.byteOffset ?? 0, x ? 1 : 0, a, b, key, TRANSFORMS[transform], 0, simd);
  noiseAxpyRange(out, x, a, b, key, transform, simd, n);
}
