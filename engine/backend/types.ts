// Shared types of backend selection: what a backend loader returns, and how it says "not here".

export const backendNames = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;

/** A tensor backend, best first in `backendNames`. */
export type BackendName = (typeof backendNames)[number];

/** Backends whose tensors live in host memory, so host RAM is their device memory. */
export const hostMemoryBackends: readonly string[] = ['native', 'wasm', 'cpu'];

/** A better backend that was not used, and why (short, for people). */
export interface SkippedBackend {
  backend: BackendName;
  reason: string;
}

/** What a started backend runs on. */
export interface LoadedBackend {
  /** e.g. 'NVIDIA H100 80GB HBM3 (CUDA)', 'CPU (wasm SIMD, 1 thread)'. */
  device: string;
  gpu: boolean;
  /** A fallback or CPU-emulated adapter: correct, but slower than the CPU backends. */
  software: boolean;
  /** webgpu: the most bytes one tensor may occupy (device.limits.maxStorageBufferBindingSize). */
  maxBufferBytes?: number;
  /** wasm: all live tensors together must fit in the wasm32 heap; past it the module traps. */
  maxLiveBytes?: number;
}

export interface BackendReport extends LoadedBackend {
  backend: BackendName;
  /** Why each better backend was not used (empty when the best one started or one was forced). */
  skipped: SkippedBackend[];
}

/** Starts one backend and makes it tfjs's current one. `forced`: the user asked for this one. */
export type BackendLoader = (opts: { forced: boolean }) => Promise<LoadedBackend>;

/**
 * Thrown by a loader when its backend cannot be used here: `reason` is short and human ("not
 * installed ...", "no WebGPU adapter"); `hint` says what would make it work.
 */
export class BackendUnavailable extends Error {
  constructor(
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(reason);
    this.name = 'BackendUnavailable';
  }
}
