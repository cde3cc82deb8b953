// Memory accounting. Tensor bytes come from tfjs's engine state: every tensor allocation and
// release writes `state.numBytes`, so intercepting that write gives live and peak bytes exactly
// and for free on every backend. Device memory and RSS are sampled separately.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tf } from './tf.js';

const execFileAsync = promisify(execFile);

interface EngineState {
  numBytes: number;
}

/** Live and peak tensor bytes of the tfjs engine, with a resettable peak. */
export class MemoryTracker {
  private live = 0;
  private peak = 0;
  private state: EngineState | undefined;

  /** Start watching the current engine state (again, if tfjs replaced it since). */
  install(): this {
    const state = tf.engine().state as unknown as EngineState;
    if (this.state === state) return this;
    this.state = state;
    this.live = state.numBytes;
    this.peak = this.live;
    Object.defineProperty(state, 'numBytes', {
      configurable: true,
      enumerable: true,
      get: () => this.live,
      set: (value: number) => {
        this.live = value;
        if (value > this.peak) this.peak = value;
      },
    });
    return this;
  }

  get liveBytes(): number {
    return this.live;
  }

  get peakBytes(): number {
    return this.peak;
  }

  /** Start a new phase: the peak restarts from what is live now. */
  resetPeak(): void {
    this.peak = this.live;
  }

  /** Peak bytes above the starting level while `fn` runs (the phase's own footprint). */
  async measure<T>(
    fn: () => Promise<T> | T,
  ): Promise<{ result: T; peakBytes: number; extraBytes: number }> {
    const before = this.live;
    const savedPeak = this.peak;
    this.peak = before;
    try {
      const result = await fn();
      const peakBytes = this.peak;
      return { result, peakBytes, extraBytes: peakBytes - before };
    } finally {
      this.peak = Math.max(savedPeak, this.peak);
    }
  }
}

/** The process-wide tracker; installed by backend selection. */
export const memory = new MemoryTracker();

export interface DeviceMemory {
  /** Where the figures come from. */
  source: 'webgpu' | 'nvidia-smi' | 'none';
  /** Bytes this process holds on the device (buffers in use, or nvidia-smi's per-process figure). */
  usedBytes?: number;
  /** Bytes the backend has allocated, pooled buffers included. */
  allocatedBytes?: number;
  /** Device total and free, where the driver tells. */
  totalBytes?: number;
  freeBytes?: number;
}

export interface MemorySample {
  liveBytes: number;
  peakBytes: number;
  rssBytes: number;
  device: DeviceMemory;
}

let nvidiaSmiMissing = false;

async function nvidiaSmi(args: string[]): Promise<string[] | undefined> {
  if (nvidiaSmiMissing) return undefined;
  try {
    const { stdout } = await execFileAsync('nvidia-smi', args, { timeout: 2000 });
    return stdout.trim().split('\n');
  } catch {
    nvidiaSmiMissing = true;
    return undefined;
  }
}

const MiB = 1024 * 1024;

/** Device memory as the backend or the driver reports it. */
export async function sampleDeviceMemory(backendName = tf.getBackend()): Promise<DeviceMemory> {
  if (backendName === 'webgpu') {
    const info = tf.memory() as { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
    return {
      source: 'webgpu',
      usedBytes: info.numBytesInGPU,
      allocatedBytes: info.numBytesAllocatedInGPU,
    };
  }
  if (backendName === 'tensorflow') {
    const gpu = await nvidiaSmi([
      '--query-gpu=memory.total,memory.free',
      '--format=csv,noheader,nounits',
    ]);
    if (gpu === undefined) return { source: 'none' };
    const apps =
      (await nvidiaSmi([
        '--query-compute-apps=pid,used_memory',
        '--format=csv,noheader,nounits',
      ])) ?? [];
    return parseNvidiaSmi(gpu, apps, process.pid);
  }
  return { source: 'none' };
}

/**
 * nvidia-smi's CSV answers (MiB, no header): the first GPU's `total, free`, and this process's
 * line among `pid, used_memory`.
 */
export function parseNvidiaSmi(gpuLines: string[], appLines: string[], pid: number): DeviceMemory {
  const [total, free] = (gpuLines[0] ?? '').split(',').map((v) => Number(v.trim()) * MiB);
  const mine = appLines
    .map((line) => line.split(',').map((v) => v.trim()))
    .find(([p]) => Number(p) === pid);
  const used = mine ? Number(mine[1]) * MiB : 0;
  const known = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : undefined);
  return {
    source: 'nvidia-smi',
    usedBytes: known(used),
    totalBytes: known(total),
    freeBytes: known(free),
  };
}

/** One reading of every memory figure. */
export async function sampleMemory(): Promise<MemorySample> {
  return {
    liveBytes: memory.liveBytes,
    peakBytes: memory.peakBytes,
    rssBytes: process.memoryUsage().rss,
    device: await sampleDeviceMemory(),
  };
}
