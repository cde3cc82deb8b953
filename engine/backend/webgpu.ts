// The webgpu backend. In Node, WebGPU comes from Dawn (the `webgpu` package): its globals and
// `navigator.gpu` must exist before tfjs-backend-webgpu is imported, because the backend
// registers itself at import only when it sees `navigator.gpu`. In a browser window the
// platform's own `navigator.gpu` is used as is.
//
// Two things the backend does not do, added here: tensors larger than the device's largest
// storage-buffer binding are refused with DEVICE_LIMIT (past it results are silently wrong), and
// the device's uncaptured errors are logged and kept, so nothing fails silently.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type * as Dawn from 'webgpu';
import { WhetstoneError } from '../errors.js';
import { createLogger } from '../log.js';
import { tf } from './tf.js';
import { BackendUnavailable, type LoadedBackend } from './types.js';
import { registerWebGpuKernels } from './webgpu-kernels.js';

const log = createLogger('backend');

/** Debian's chromium package ships SwiftShader, a software Vulkan driver Dawn can use. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface Session {
  /** navigator.gpu was installed here (Dawn), so release removes it. */
  ownsGpu: boolean;
  /** globalThis.navigator itself was created here (Node 20 has none). */
  ownsNavigator: boolean;
  device?: GPUDevice;
  releasing: boolean;
}

let session: Session | undefined;
let lastError: { message: string; at: number } | undefined;
let limitOverride: number | undefined;

interface NavigatorWithGpu {
  gpu?: GPU;
}

function navigatorGpu(): GPU | undefined {
  return (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu;
}

/** Make `navigator.gpu` available: the platform's if it has one, else Dawn's. */
async function installGpu(): Promise<GPU> {
  const existing = navigatorGpu();
  if (existing !== undefined) {
    session ??= { ownsGpu: false, ownsNavigator: false, releasing: false };
    return existing;
  }
  // Vulkan loaders warn loudly on stderr without a runtime dir.
  if (process.env.XDG_RUNTIME_DIR === undefined) {
    const dir = join(tmpdir(), `whetstone-runtime-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  let dawn: typeof Dawn;
  try {
    dawn = await import('webgpu');
  } catch (err) {
    throw new BackendUnavailable(
      `the webgpu package (Dawn) failed to load: ${(err as Error).message}`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const holder = globalThis as { navigator?: NavigatorWithGpu };
  const ownsNavigator = holder.navigator === undefined;
  if (ownsNavigator) holder.navigator = { gpu };
  else Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true });
  session = { ownsGpu: true, ownsNavigator, releasing: false };
  return gpu;
}

/**
 * Remove what installGpu added, so Dawn's event loop lets the process exit; kept while a webgpu
 * backend still runs on it.
 */
function dropGpu(): void {
  if ('webgpu' in tf.engine().registry) return;
  const holder = globalThis as { navigator?: NavigatorWithGpu };
  if (session?.ownsNavigator) delete holder.navigator;
  else if (session?.ownsGpu && holder.navigator) delete holder.navigator.gpu;
  session = undefined;
}

export interface AdapterDescription {
  /** e.g. 'google swiftshader (SwiftShader driver 5.0.0, software)'. */
  name: string;
  /** vendor/architecture, e.g. 'google/swiftshader'. */
  id: string;
  software: boolean;
}

/** Name an adapter from its info, and tell software (CPU-emulated) adapters apart. */
export function describeAdapter(
  adapter: Pick<GPUAdapter, 'info'> & { isFallbackAdapter?: boolean },
): AdapterDescription {
  const { vendor, architecture, device, description } = adapter.info;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const id = [vendor, architecture].filter(Boolean).join('/') || device || 'unknown';
  const words = `${vendor} ${architecture} ${device} ${description}`;
  const software =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|softpipe|basic render driver/i.test(words);
  const base = [vendor, architecture].filter(Boolean).join(' ') || device || 'unknown adapter';
  const details = [
    description && !base.toLowerCase().includes(description.toLowerCase()) ? description : '',
    software ? 'software' : '',
  ].filter(Boolean);
  return { name: details.length > 0 ? `${base} (${details.join(', ')})` : base, id, software };
}

function noAdapterHint(): string {
  const swiftshader =
    process.env.VK_ICD_FILENAMES === undefined
      ? ` Without a GPU, VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (Debian's chromium) gives a software adapter.`
      : '';
  return `WebGPU needs a GPU with a Vulkan, Metal or D3D12 driver.${swiftshader}`;
}

/** Start the webgpu backend. Software adapters are only used when forced (they rank below the CPU backends). */
export async function startWebGpu({ forced }: { forced: boolean }): Promise<LoadedBackend> {
  const gpu = await installGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    dropGpu();
    throw new BackendUnavailable('no WebGPU adapter', noAdapterHint());
  }
  const described = describeAdapter(adapter);
  if (described.software && !forced) {
    dropGpu();
    throw new BackendUnavailable(
      `software adapter ${described.id} ranks below the CPU backends; force with --backend webgpu`,
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') === null) {
    dropGpu();
    throw new BackendUnavailable(
      'tfjs-backend-webgpu was imported before navigator.gpu existed, so it did not register',
    );
  }
  registerWebGpuKernels();
  if (!(await tf.setBackend('webgpu'))) {
    dropGpu();
    throw new BackendUnavailable(`the WebGPU device on ${described.name} failed to initialise`);
  }
  const backend = tf.backend() as WebGPUBackend;
  watchDevice(backend.device);
  guardBuffers(backend);
  return {
    device: described.name,
    gpu: !described.software,
    software: described.software,
    maxBufferBytes: backend.device.limits.maxStorageBufferBindingSize,
  };
}

/** Log the device's uncaptured errors and its loss; keep the last error for callers to check. */
function watchDevice(device: GPUDevice): void {
  if (session === undefined || session.device === device) return;
  session.device = device;
  const current = session;
  device.addEventListener('uncapturederror', (event) => {
    const message = event.error.message;
    lastError = { message, at: Date.now() };
    log.error(`WebGPU device error: ${message}`);
  });
  void device.lost.then((info) => {
    if (!current.releasing) log.error(`WebGPU device lost (${info.reason}): ${info.message}`);
  });
}

/** The device's last uncaptured error since start-up (or since `clearWebGpuError`). */
export function lastWebGpuError(): { message: string; at: number } | undefined {
  return lastError;
}

export function clearWebGpuError(): void {
  lastError = undefined;
}

/** Lower the buffer guard's limit below the device's (tests); `undefined` restores the device's. */
export function setWebGpuBufferLimit(bytes: number | undefined): void {
  limitOverride = bytes;
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Refuse tensors above the device's largest storage-buffer binding before anything is
 * dispatched: at creation (`write`, which outputs also go through) and when a buffer is acquired
 * (tensors moved in from another backend are uploaded there).
 */
function guardBuffers(backend: WebGPUBackend): void {
  const guarded = backend as WebGPUBackend & { whetstoneGuarded?: boolean };
  if (guarded.whetstoneGuarded) return;
  guarded.whetstoneGuarded = true;
  const { maxStorageBufferBindingSize, maxBufferSize } = backend.device.limits;
  const check = (bytes: number): void => {
    const limit = limitOverride ?? Math.min(maxStorageBufferBindingSize, maxBufferSize);
    if (bytes <= limit) return;
    throw new WhetstoneError(
      'DEVICE_LIMIT',
      `A tensor of ${bytes} bytes (${formatBytes(bytes)}) exceeds this GPU's largest buffer binding (${limit} bytes, ${formatBytes(limit)}); past it WebGPU results are silently wrong.`,
      'Use a smaller batch or sequence length, or another backend (--backend wasm or cpu).',
    );
  };
  const manager = backend.bufferManager;
  const acquire = manager.acquireBuffer.bind(manager);
  manager.acquireBuffer = (size, usage, mappedAtCreation, reuse) => {
    if ((usage & GPUBufferUsage.STORAGE) !== 0) check(size);
    return acquire(size, usage, mappedAtCreation, reuse);
  };
  const write = backend.write.bind(backend);
  backend.write = (values, shape, dtype) => {
    if (dtype !== 'string') check(tf.util.sizeFromShape(shape) * (dtype === 'complex64' ? 8 : 4));
    return write(values, shape, dtype);
  };
}

/** Before tfjs disposes the backend: let queued work finish, and remember the device to destroy. */
export async function prepareWebGpuRelease(): Promise<GPUDevice | undefined> {
  if (session === undefined) return undefined;
  session.releasing = true;
  const device = session.device;
  if (device !== undefined) await device.queue.onSubmittedWorkDone().catch(() => undefined);
  return device;
}

/** After tfjs disposed the backend: destroy the device and drop navigator.gpu. */
export function finishWebGpuRelease(device: GPUDevice | undefined): void {
  device?.destroy();
  dropGpu(); // tfjs has disposed its backends by now
}
