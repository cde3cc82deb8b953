// Will a job fit the backend it is about to run on? The estimator's peak against each backend's
// ceilings (the wasm heap, a WebGPU binding, host RAM), checked before any weight is loaded.
// Pure rules, no tfjs: the estimate job and the studio judge with the same code as a run.
import { formatBytes as formatBytesFor } from '../util/format-bytes.js';
import type { LoadedBackend } from './types.js';

/**
 * The wasm32 heap's ceiling (tfjs-backend-wasm's build: 4 GiB less one 64 KiB page). All live
 * tensors share it; past it the module traps instead of throwing a clean error.
 */
export const WASM_HEAP_MAX_BYTES = 4 * 1024 ** 3 - 64 * 1024;

/** What a job will hold, from the estimator. */
export interface FitNeeds {
  /** The job in a few words, for messages ("lomo training, batch 4 × 256 tokens"). */
  what: string;
  /** Tensor bytes alive at once at the peak. */
  peakBytes: number;
  /** The largest single tensor (WebGPU binds each tensor as one buffer). */
  largestTensorBytes: number;
  /** Its name (a weight's, or the logits), for messages. */
  largestTensorName?: string;
  /** Process memory beside the tensors: the runtime, the tokenizer, buffers while loading. */
  hostOverheadBytes: number;
}

/** A ceiling and what it is, for messages. */
export interface Ceiling {
  bytes: number;
  what: string;
}

/** What a backend can hold. */
export interface BackendLimits {
  backend: string;
  /** Tensors live in this process's memory (CPU backends, a software GPU): host RAM bounds them. */
  hostTensors: boolean;
  /** All live tensors together (the wasm heap; a GPU's free memory where the driver tells). */
  live?: Ceiling;
  /** One tensor (WebGPU's storage-buffer binding limit). */
  tensor?: Ceiling;
  /** Memory this process may still take from the host. */
  host: Ceiling;
}

/** Host memory as the fit rule reads it: what the OS can still give, and what we hold already. */
export interface HostMemory {
  availableBytes: number;
  /** This process's resident set now (counted in the overhead, so added back to the budget). */
  rssBytes: number;
}

/**
 * A lower WebGPU binding limit than the device's (bytes): tests the refusal of large tensors on
 * an adapter whose own limit is far above the test's tensors.
 */
export const WEBGPU_BINDING_LIMIT_ENV = 'WHETSTONE_WEBGPU_BINDING_LIMIT_BYTES';

/** A lower ceiling on tensor memory for every backend (tests, or to leave room for others). */
export const MEMORY_LIMIT_ENV = 'WHETSTONE_MEMORY_LIMIT_BYTES';
/** `off` runs even when the estimate says it will not fit (the live-bytes guard still holds). */
export const FIT_CHECK_ENV = 'WHETSTONE_FIT_CHECK';

/** WHETSTONE_MEMORY_LIMIT_BYTES as a number, if set to one. */
export function memoryLimitOverride(
  env: NodeJS.ProcessEnv = process.env,
  name = MEMORY_LIMIT_ENV,
): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const bytes = Number(raw);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

export function fitCheckEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[FIT_CHECK_ENV]?.trim().toLowerCase() !== 'off';
}

/** Backends whose ceilings are known without starting them (host memory, the wasm heap). */
export const hostBackends: readonly string[] = ['native', 'wasm', 'cpu'];

/**
 * The ceilings of a started backend. `deviceFreeBytes`: a GPU's free memory where the driver
 * tells (nvidia-smi); unknown GPU memory is not guessed.
 */
export function limitsOf(
  backend: string,
  loaded: Pick<LoadedBackend, 'gpu' | 'software' | 'maxLiveBytes' | 'maxBufferBytes'>,
  hostMemory: HostMemory,
  opts: { deviceFreeBytes?: number; env?: NodeJS.ProcessEnv } = {},
): BackendLimits {
  const override = memoryLimitOverride(opts.env);
  const hostTensors = !loaded.gpu || loaded.software;
  let live: Ceiling | undefined;
  if (loaded.maxLiveBytes !== undefined)
    live = { bytes: loaded.maxLiveBytes, what: `the ${backend} heap` };
  else if (loaded.gpu && opts.deviceFreeBytes !== undefined)
    live = { bytes: opts.deviceFreeBytes, what: 'free GPU memory' };
  const tensor =
    loaded.maxBufferBytes === undefined
      ? undefined
      : { bytes: loaded.maxBufferBytes, what: "the WebGPU device's largest buffer binding" };
  // The override caps tensor memory only: the process's own overhead still meets real RAM.
  if (override !== undefined && (live === undefined || override < live.bytes))
    live = { bytes: override, what: MEMORY_LIMIT_ENV };
  const host: Ceiling = {
    bytes: hostMemory.availableBytes + hostMemory.rssBytes,
    what: 'available host memory',
  };
  return { backend, hostTensors, ...(live && { live }), ...(tensor && { tensor }), host };
}

/** Ceilings of a backend that has not started, where they are known without a device. */
export function staticLimitsOf(
  backend: string,
  host: HostMemory,
  env?: NodeJS.ProcessEnv,
): BackendLimits | undefined {
  if (!hostBackends.includes(backend)) return undefined;
  const maxLiveBytes = backend === 'wasm' ? WASM_HEAP_MAX_BYTES : undefined;
  return limitsOf(backend, { gpu: false, software: false, maxLiveBytes }, host, { env });
}

/** What does not fit, one phrase each (empty: it fits). */
export function fitProblems(needs: FitNeeds, limits: BackendLimits): string[] {
  const problems: string[] = [];
  const over = (need: number, what: string, c: Ceiling) =>
    `${what} ${formatBytes(need)}, above ${c.what} (${formatBytes(c.bytes)})`;
  if (limits.live && needs.peakBytes > limits.live.bytes)
    problems.push(over(needs.peakBytes, 'tensors at peak', limits.live));
  if (limits.tensor && needs.largestTensorBytes > limits.tensor.bytes)
    problems.push(
      over(
        needs.largestTensorBytes,
        `its largest tensor${needs.largestTensorName ? ` (${needs.largestTensorName})` : ''}`,
        limits.tensor,
      ),
    );
  const hostNeed = needs.hostOverheadBytes + (limits.hostTensors ? needs.peakBytes : 0);
  if (hostNeed > limits.host.bytes) problems.push(over(hostNeed, 'process memory', limits.host));
  return problems;
}

/** The refusal: the estimate, the limit, and what would fit instead. */
export function refusalMessage(
  needs: FitNeeds,
  limits: BackendLimits,
  problems: string[],
  alternatives: string[],
): { message: string; hint: string } {
  const message =
    `${needs.what} does not fit the ${limits.backend} backend: the estimate needs ` +
    `${problems.join('; ')}.` +
    (alternatives.length > 0 ? ` Would fit: ${alternatives.join('; ')}.` : '');
  const hint =
    alternatives.length > 0
      ? `Change the run to one of: ${alternatives.join('; ')}.`
      : 'Use a smaller model, a shorter sequence or a smaller batch, or a machine with more memory.';
  return { message, hint };
}

/** Bytes as refusals print them: two decimals from GiB up. */
export const formatBytes = (bytes: number): string => formatBytesFor(bytes, true);
