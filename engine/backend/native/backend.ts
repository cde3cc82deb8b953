// The `native` backend: tfjs's cpu backend (tensors in ordinary ArrayBuffers, so the host's RAM is
// the only ceiling) with the kernels training spends its time on replaced by the C++ addon's
// (OpenBLAS GEMM, threaded elementwise, reductions, softmax, data movement). Every other kernel is
// the cpu backend's own, so the two agree by construction wherever the addon is not used.
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.js';
import '../adam-step.js';
import '../noise.js';
import '../../peft/nf4-kernel.js';
import { BackendUnavailable, type LoadedBackend } from '../types.js';
import { loadAddon, type NativeAddon } from './addon.js';
import { BufferPool } from './buffer-pool.js';
import { registerNativeCustomKernels } from './custom.js';
import { fastPaths, registerNativeKernels } from './kernels.js';

export const NATIVE = 'native';

let registered = false;

const MiB = 1024 ** 2;
const envBytes = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
};

type Storage = {
  set(dataId: object, value: { values?: unknown }): void;
  get(dataId: object): { values?: unknown };
  has(dataId: object): boolean;
  delete(dataId: object): boolean;
};

/** The cpu backend with a pool that recycles the kernels' large output buffers. */
export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool({
    minBytes: envBytes('WHETSTONE_NATIVE_POOL_MIN_BYTES', MiB),
    maxBytes: envBytes('WHETSTONE_NATIVE_POOL_BYTES', 512 * MiB),
  });

  constructor() {
    super();
    // The cpu backend prints an "install tfjs-node" banner on first use; not for this one.
    (this as unknown as { firstUse: boolean }).firstUse = false;
    // Every tensor's values enter and leave through the storage's set and delete: count them.
    const data = this.data as unknown as Storage;
    const set = data.set.bind(data);
    const remove = data.delete.bind(data);
    data.set = (dataId, value) => {
      const old = data.has(dataId) ? data.get(dataId).values : undefined;
      set(dataId, value);
      this.pool.hold(value.values);
      if (old !== undefined) this.pool.release(old);
    };
    data.delete = (dataId) => {
      const old = data.has(dataId) ? data.get(dataId).values : undefined;
      const removed = remove(dataId);
      if (old !== undefined) this.pool.release(old);
      return removed;
    };
  }

  override readSync(dataId: object): ReturnType<MathBackendCPU['readSync']> {
    const values = super.readSync(dataId);
    this.pool.escape((this.data as unknown as Storage).get(dataId).values);
    return values;
  }

  override read(dataId: object): ReturnType<MathBackendCPU['read']> {
    return Promise.resolve(this.readSync(dataId));
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}

/** Register the backend and its kernels once: the cpu kernels, then the native fast paths. */
function register(addon: NativeAddon): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(NATIVE, () => new NativeBackend());
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (!tf.getKernel(config.kernelName, NATIVE))
      tf.registerKernel({ ...config, backendName: NATIVE });
  }
  registerNativeKernels(NATIVE, addon);
  registerNativeCustomKernels(NATIVE, addon);
}

/** Kernels that run in C++ on this backend (the rest are the cpu backend's). */
export const nativeKernelNames = (): string[] => Object.keys(fastPaths).sort();

/** Start the native backend and make it tfjs's current one. */
export async function startNative(): Promise<LoadedBackend> {
  let addon: NativeAddon;
  try {
    addon = loadAddon();
  } catch (err) {
    throw new BackendUnavailable(
      (err as Error).message,
      'Build it with `npm run build:native` (needs a C++ compiler and libopenblas-dev on Linux, Xcode on macOS).',
    );
  }
  register(addon);
  if (!(await tf.setBackend(NATIVE))) {
    throw new BackendUnavailable('the native backend failed to initialise');
  }
  const { blas, threads } = addon.info();
  return {
    device: `CPU (native, ${blas.trim()}, ${threads} thread${threads === 1 ? '' : 's'})`,
    gpu: false,
    software: false,
  };
}
