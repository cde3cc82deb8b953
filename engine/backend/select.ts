// Picks the tensor backend at start-up: the one asked for (option, then WHETSTONE_BACKEND), or the
// best that starts here, in the order tensorflow > webgpu > native > wasm > cpu. A forced backend that
// cannot start is an error; in auto mode each failure is recorded and the next one is tried.
import { WhetstoneError } from '../errors.js';
import { createLogger } from '../log.js';
import { memory } from './memory.js';
import { tensorflowLoader } from './tensorflow.js';
import { tf } from './tf.js';
import {
  BackendUnavailable,
  backendNames,
  type BackendLoader,
  type BackendName,
  type BackendReport,
  type LoadedBackend,
  type SkippedBackend,
} from './types.js';
import { startNative } from './native/backend.js';
import { startWasm } from './wasm.js';
import {
  finishWebGpuRelease,
  prepareWebGpuRelease,
  startWebGpu,
  withWebGpuErrorScope,
} from './webgpu.js';

/**
 * Run one unit of GPU work (a training step, a forward pass) so that a device error or a lost
 * device fails it with DEVICE_ERROR / DEVICE_LOST instead of giving a wrong result. Backends in
 * host memory raise their errors as exceptions already; there it just runs `fn`.
 */
export const withDeviceChecks: <T>(fn: () => Promise<T>) => Promise<T> = withWebGpuErrorScope;

export { backendNames, BackendUnavailable };
export type { BackendLoader, BackendName, BackendReport, LoadedBackend, SkippedBackend };

const log = createLogger('backend');

async function startCpu(): Promise<LoadedBackend> {
  if (!(await tf.setBackend('cpu')))
    throw new BackendUnavailable('the cpu backend failed to initialise');
  // tfjs-backend-cpu prints an "install tfjs-node" banner on first use; the report says enough.
  (tf.backend() as { firstUse?: boolean }).firstUse = false;
  return { device: 'CPU (JavaScript)', gpu: false, software: false };
}

/** The real loaders; `initBackend({loaders})` replaces some of them in tests. */
export const defaultLoaders: Record<BackendName, BackendLoader> = {
  tensorflow: tensorflowLoader(),
  webgpu: startWebGpu,
  native: startNative,
  wasm: startWasm,
  cpu: startCpu,
};

const fallbackHints: Record<BackendName, string> = {
  tensorflow:
    'Install @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1) or @tensorflow/tfjs-node with internet access, or use --backend webgpu, wasm or cpu.',
  webgpu: 'Use --backend native, wasm or cpu.',
  native: 'Use --backend wasm or cpu.',
  wasm: 'Use --backend cpu.',
  cpu: 'This is a bug: the cpu backend is pure JavaScript.',
};

/** A backend name from the command line or the environment; BAD_ARGUMENT lists the valid ones. */
export function parseBackendName(s: string): BackendName {
  const name = s.trim().toLowerCase();
  if ((backendNames as readonly string[]).includes(name)) return name as BackendName;
  throw new WhetstoneError(
    'BAD_ARGUMENT',
    `Unknown backend '${s}'. Valid backends: ${backendNames.join(', ')}.`,
  );
}

/** WHETSTONE_BACKEND, when it names a backend (unset or `auto`: undefined). */
export function backendFromEnv(): BackendName | undefined {
  const value = process.env.WHETSTONE_BACKEND?.trim();
  if (value === undefined || value === '' || value.toLowerCase() === 'auto') return undefined;
  try {
    return parseBackendName(value);
  } catch (err) {
    throw new WhetstoneError('BAD_ARGUMENT', `WHETSTONE_BACKEND: ${(err as Error).message}`);
  }
}

export interface InitOptions {
  /** Use exactly this backend (else WHETSTONE_BACKEND, else the best available). */
  backend?: BackendName;
  /** Replace the loaders of some backends (tests simulate missing or odd installs this way). */
  loaders?: Partial<Record<BackendName, BackendLoader>>;
  /** Auto mode: a reason to pass over a backend that started (fit.ts: the job will not fit). */
  accept?: (name: BackendName, loaded: LoadedBackend) => Promise<string | undefined>;
}

let active: BackendName | undefined;

function summary(report: BackendReport): string {
  const skipped = report.skipped.map((s) => `${s.backend} (${s.reason})`).join(', ');
  return `using ${report.backend} on ${report.device}${skipped ? `; skipped ${skipped}` : ''}`;
}

/** Start the tensor backend and make it tfjs's current one. Calling again switches backend. */
export async function initBackend(opts: InitOptions = {}): Promise<BackendReport> {
  const forced = opts.backend ?? backendFromEnv();
  const loaders = { ...defaultLoaders, ...opts.loaders };
  const skipped: SkippedBackend[] = [];
  for (const name of forced === undefined ? backendNames : [forced]) {
    let loaded: LoadedBackend;
    try {
      loaded = await loaders[name]({ forced: forced !== undefined });
    } catch (err) {
      const reason =
        err instanceof BackendUnavailable
          ? err.reason
          : err instanceof Error
            ? err.message
            : String(err);
      if (forced !== undefined) {
        // A failed setBackend leaves tfjs naming the failed backend: go back to the previous one.
        if (active !== undefined) await tf.setBackend(active);
        const hint =
          err instanceof BackendUnavailable && err.hint !== undefined
            ? `${err.hint} ${fallbackHints[name]}`
            : fallbackHints[name];
        throw new WhetstoneError(
          'BACKEND_UNAVAILABLE',
          `The ${name} backend is unavailable: ${reason}`,
          hint,
        );
      }
      skipped.push({ backend: name, reason });
      log.debug(`backend ${name} skipped: ${reason}`);
      continue;
    }
    const refusal = forced === undefined ? await opts.accept?.(name, loaded) : undefined;
    if (refusal !== undefined) {
      skipped.push({ backend: name, reason: refusal });
      continue;
    }
    active = name;
    memory.install();
    const report: BackendReport = { backend: name, ...loaded, skipped };
    log.info(summary(report));
    return report;
  }
  throw new WhetstoneError(
    'BACKEND_UNAVAILABLE',
    `No tensor backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  );
}

/** The backend initBackend started, if any. */
export function activeBackend(): BackendName | undefined {
  return active;
}

/**
 * At shutdown: dispose every backend and its tensors, destroy the WebGPU device and drop
 * navigator.gpu so Dawn lets the process exit. initBackend may be called again afterwards.
 */
export async function releaseBackend(): Promise<void> {
  if (active === undefined) return;
  const device = await prepareWebGpuRelease();
  tf.engine().reset();
  finishWebGpuRelease(device);
  active = undefined;
}
