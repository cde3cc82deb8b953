// Memory accounting: bytes of the tensor data buffers alive, and their peak.
//
// tfjs's own figure (`tf.memory().numBytes`, also behind `tf.profile`) counts tensor *handles*:
// a reshape, a clone, or the copy of every input the gradient tape saves for backward shares its
// buffer yet is counted again, so a full backward pass appears to hold a second copy of the
// weights. We count buffers instead: every handle passes through the engine's `trackTensor` when
// made and `disposeTensor` when disposed, so counting handles per buffer (dataId) there gives
// live and peak buffer bytes exactly and at no cost, on every backend. (The engine's own buffer
// registry is no use: webgpu defers freeing a buffer that is being read, and the engine then
// never hears that it went.) Device memory and RSS are sampled separately.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WhetstoneError } from '../errors.js';
import { formatBytes, type Ceiling } from './fit.js';
import { tf } from './tf.js';

const execFileAsync = promisify(execFile);

interface Handle {
  dataId: object;
  size: number;
  dtype: tf.DataType;
}

interface EngineHooks {
  trackTensor(a: Handle, backend?: unknown): void;
  disposeTensor(a: Handle): void;
  state: { numBytes: number };
}

/** Ceilings the tracker enforces before an allocation (see `checkAllocation`). */
export interface AllocationLimits {
  /** All live buffers together (the wasm heap, or WHETSTONE_MEMORY_LIMIT_BYTES). */
  live?: Ceiling;
  /** One buffer (WebGPU's binding limit: past it results are silently wrong). */
  tensor?: Ceiling;
}

const LIMIT_HINT =
  'The run needs more memory than the estimate said: use a shorter sequence, a smaller batch, LoRA/QLoRA or a zeroth-order method, or another backend (whetstone estimate compares them).';

/** Live and peak bytes of tensor buffers in the tfjs engine, with a resettable peak. */
export class MemoryTracker {
  private live = 0;
  private peak = 0;
  private limits: AllocationLimits = {};
  private readonly buffers = new Map<object, { bytes: number; handles: number }>();
  private engine: EngineHooks | undefined;
  private state: object | undefined;

  /** Start watching the tfjs engine; after `engine.reset()` (a new state), start over. */
  install(): this {
    const engine = tf.engine() as unknown as EngineHooks;
    if (this.state !== engine.state) {
      // Buffers made before we watch are unknown to us: start from tfjs's count of them.
      this.state = engine.state;
      this.buffers.clear();
      this.live = engine.state.numBytes;
      this.peak = this.live;
    }
    if (this.engine === engine) return this;
    this.engine = engine;
    const track = engine.trackTensor.bind(engine);
    const dispose = engine.disposeTensor.bind(engine);
    engine.trackTensor = (a, backend) => {
      const entry = this.buffers.get(a.dataId);
      if (entry) entry.handles++;
      else {
        const simple = a.dtype !== 'string' && a.dtype !== 'complex64';
        const bytes = simple ? a.size * tf.util.bytesPerElement(a.dtype) : 0;
        // Backends in host memory allocate before we hear of it: refuse to go on past a ceiling.
        this.checkAllocation(bytes);
        this.buffers.set(a.dataId, { bytes, handles: 1 });
        this.add(bytes);
      }
      track(a, backend);
    };
    engine.disposeTensor = (a) => {
      const entry = this.buffers.get(a.dataId);
      if (entry && --entry.handles === 0) {
        this.buffers.delete(a.dataId);
        this.add(-entry.bytes);
      }
      dispose(a);
    };
    return this;
  }

  /** Enforce these ceilings from now on (a backend's, set when it starts). */
  setLimits(limits: AllocationLimits): void {
    this.limits = limits;
  }

  /**
   * Throws DEVICE_LIMIT when `bytes` more would pass a ceiling. The wasm heap calls it before
   * its malloc: past the heap the module would trap, or hand out memory it already gave.
   */
  checkAllocation(bytes: number): void {
    const { live, tensor } = this.limits;
    if (tensor && bytes > tensor.bytes) {
      throw new WhetstoneError(
        'DEVICE_LIMIT',
        `A ${formatBytes(bytes)} tensor is larger than ${tensor.what} (${formatBytes(tensor.bytes)}).`,
        LIMIT_HINT,
      );
    }
    if (live && this.live + bytes > live.bytes) {
      throw new WhetstoneError(
        'DEVICE_LIMIT',
        `Out of memory: ${formatBytes(bytes)} more with ${formatBytes(this.live)} of tensors alive would pass ${live.what} (${formatBytes(live.bytes)}).`,
        LIMIT_HINT,
      );
    }
  }

  private add(bytes: number): void {
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
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
    // WebGPU does not tell a device's memory; on NVIDIA the driver does (nvidia-smi).
    const driver = webgpuVendor() === 'nvidia' ? await nvidiaMemory() : undefined;
    return {
      source: 'webgpu',
      usedBytes: info.numBytesInGPU,
      allocatedBytes: info.numBytesAllocatedInGPU,
      ...(driver?.totalBytes !== undefined && { totalBytes: driver.totalBytes }),
      ...(driver?.freeBytes !== undefined && { freeBytes: driver.freeBytes }),
    };
  }
  if (backendName === 'tensorflow') return (await nvidiaMemory()) ?? { source: 'none' };
  return { source: 'none' };
}

/** The first NVIDIA GPU's total and free memory and this process's share, from nvidia-smi. */
export async function nvidiaMemory(): Promise<DeviceMemory | undefined> {
  const gpu = await nvidiaSmi([
    '--query-gpu=memory.total,memory.free',
    '--format=csv,noheader,nounits',
  ]);
  if (gpu === undefined) return undefined;
  const apps =
    (await nvidiaSmi(['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'])) ??
    [];
  return parseNvidiaSmi(gpu, apps, process.pid);
}

/** The running WebGPU adapter's vendor, lower case ('nvidia', 'amd', 'google'...). */
function webgpuVendor(): string | undefined {
  const backend = tf.backend() as { adapterInfo?: { vendor?: string } };
  return backend.adapterInfo?.vendor?.toLowerCase();
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

/** Which device figure a step reports: each backend's own measure, named for what it is. */
export type DeviceFigureSource = 'webgpu-allocated' | 'wasm-heap' | 'process-rss';

export interface DeviceFigure {
  source: DeviceFigureSource;
  bytes: number;
}

/**
 * The backend's device memory now, cheaply enough for every step: WebGPU's allocated buffers
 * (in use and pooled), the wasm module's heap (it only grows), or the process's resident set
 * for cpu and tensorflow, whose tensors live in host memory (or CUDA's, which it cannot see).
 */
export function deviceFigure(backendName = tf.getBackend()): DeviceFigure {
  if (backendName === 'webgpu') {
    const info = tf.memory() as { numBytesAllocatedInGPU?: number };
    return { source: 'webgpu-allocated', bytes: info.numBytesAllocatedInGPU ?? 0 };
  }
  if (backendName === 'wasm') {
    const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
    const heap = backend.wasm?.HEAPU8?.buffer.byteLength;
    if (heap !== undefined) return { source: 'wasm-heap', bytes: heap };
  }
  return { source: 'process-rss', bytes: process.memoryUsage.rss() };
}

/** One reading of every memory figure. */
export async function sampleMemory(): Promise<MemorySample> {
  return {
    liveBytes: memory.liveBytes,
    peakBytes: memory.peakBytes,
    rssBytes: process.memoryUsage.rss(),
    device: await sampleDeviceMemory(),
  };
}
