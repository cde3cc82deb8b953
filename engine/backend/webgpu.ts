// The webgpu backend. In Node, WebGPU comes from Dawn (the `webgpu` package): its globals and
// `navigator.gpu` must exist before tfjs-backend-webgpu is imported, because the backend
// registers itself at import only when it sees `navigator.gpu`. In a browser window the
// platform's own `navigator.gpu` is used as is.
//
// The device is ours, not tfjs's: we request it with every limit the adapter offers and with
// `shader-f16` and `timestamp-query` where offered, then hand it to tfjs's WebGPUBackend. What the
// backend does not do is added here: tensors larger than the device's largest storage-buffer
// binding are refused with DEVICE_LIMIT (past it results are silently wrong), and a device error
// or a lost device becomes an engine error at the next check (`checkWebGpuDevice`,
// `withWebGpuErrorScope`), so nothing fails silently.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type * as Dawn from 'webgpu';
import { WhetstoneError } from '../errors.js';
import { createLogger } from '../log.js';
import { formatBytes } from '../util/format-bytes.js';
import { memoryLimitOverride, WEBGPU_BINDING_LIMIT_ENV } from './fit.js';
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
  /** Set when the device was lost while in use (not by our own release). */
  lost?: { reason: string; message: string };
}

/** What the device offers, for `backends` and the device check. */
export interface WebGpuDeviceInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The features the device was created with (ours and Dawn's defaults). */
  features: string[];
  /** The adapter's features, all of them. */
  adapterFeatures: string[];
  limits: Record<string, number>;
}

let session: Session | undefined;
let lastError: { message: string; at: number } | undefined;
let deviceInfo: WebGpuDeviceInfo | undefined;
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
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  let device: GPUDevice;
  try {
    device = await createDevice(adapter);
  } catch (err) {
    dropGpu();
    throw new BackendUnavailable(
      `the WebGPU device on ${described.name} could not be created: ${(err as Error).message}`,
    );
  }
  // tfjs registers its own factory (a device with fewer limits) when it sees navigator.gpu at
  // import: ours replaces it, so every tfjs kernel runs on the device we watch.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info), 3);
  registerWebGpuKernels();
  watchDevice(device);
  if (!(await tf.setBackend('webgpu'))) {
    device.destroy();
    dropGpu();
    throw new BackendUnavailable(`the WebGPU device on ${described.name} failed to initialise`);
  }
  const backend = tf.backend() as WebGPUBackend;
  guardBuffers(backend);
  deviceInfo = infoOf(adapter, device);
  return {
    device: described.name,
    gpu: !described.software,
    software: described.software,
    maxBufferBytes: bindingLimit(device.limits),
  };
}

/**
 * What a WebGPU run would get here, without creating a device: the adapter's binding limit and
 * kind (the estimate's fit badge judges against it). The running device's when one is up;
 * undefined when there is no adapter.
 */
export async function probeWebGpu(): Promise<
  (Omit<LoadedBackend, 'device'> & { device: string; vendor: string }) | undefined
> {
  const running = session?.device;
  if (running !== undefined && deviceInfo !== undefined) {
    const d = describeAdapter({ info: deviceInfo as unknown as GPUAdapterInfo });
    return {
      device: d.name,
      vendor: deviceInfo.vendor,
      gpu: !d.software,
      software: d.software,
      maxBufferBytes: bindingLimit(running.limits),
    };
  }
  let gpu: GPU;
  try {
    gpu = await installGpu();
  } catch {
    return undefined;
  }
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter === null) return undefined;
    const d = describeAdapter(adapter);
    return {
      device: d.name,
      vendor: adapter.info.vendor,
      gpu: !d.software,
      software: d.software,
      maxBufferBytes: bindingLimit(adapter.limits),
    };
  } finally {
    dropGpu(); // no device was made: let the process exit
  }
}

/**
 * The most bytes one tensor may take: one storage binding, one buffer, or less where a test
 * lowered it (setWebGpuBufferLimit, WHETSTONE_WEBGPU_BINDING_LIMIT_BYTES).
 */
function bindingLimit(limits: GPUSupportedLimits): number {
  const device = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const lowered = limitOverride ?? memoryLimitOverride(process.env, WEBGPU_BINDING_LIMIT_ENV);
  return lowered === undefined ? device : Math.min(device, lowered);
}

/** The features we ask for where the adapter offers them. */
const WANTED_FEATURES = ['shader-f16', 'timestamp-query'] as const;

/**
 * A device with every limit the adapter allows (WebGPU's defaults are far lower: a 128 MiB
 * binding) and the features we use when offered.
 */
async function createDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const value = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  return adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'whetstone' });
}

function infoOf(adapter: GPUAdapter, device: GPUDevice): WebGpuDeviceInfo {
  const limits: Record<string, number> = {};
  for (const key in device.limits) {
    const value = (device.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') limits[key] = value;
  }
  const { vendor, architecture, device: name, description } = adapter.info;
  return {
    vendor,
    architecture,
    device: name,
    description,
    features: [...device.features].sort(),
    adapterFeatures: [...adapter.features].sort(),
    limits,
  };
}

/** The running WebGPU device's adapter, limits and features (undefined before it starts). */
export function webgpuDeviceInfo(): WebGpuDeviceInfo | undefined {
  return session?.device === undefined ? undefined : deviceInfo;
}

/** Keep the device's uncaptured errors and its loss, for `checkWebGpuDevice`; log both. */
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
    if (current.releasing) return;
    current.lost = { reason: info.reason, message: info.message };
    log.error(`WebGPU device lost (${info.reason}): ${info.message}`);
  });
}

const LOST_HINT =
  'The GPU driver reset or the device was removed (a driver update, another program, a GPU fault, or running out of GPU memory). Restart the run from its last checkpoint (whetstone resume), or use --backend wasm or cpu.';
const ERROR_HINT =
  'This is a bug or an unsupported shape on this GPU: report it with the message, and use --backend wasm or cpu meanwhile.';

function deviceLost(lost: { reason: string; message: string }): WhetstoneError {
  return new WhetstoneError(
    'DEVICE_LOST',
    `The WebGPU device was lost (${lost.reason}${lost.message ? `: ${lost.message}` : ''}); its results cannot be trusted, so the job stopped.`,
    LOST_HINT,
  );
}

function deviceError(message: string): WhetstoneError {
  const oom = /out of memory|OutOfMemory/i.test(message);
  return new WhetstoneError(
    oom ? 'ENGINE_OOM' : 'DEVICE_ERROR',
    `The WebGPU device reported an error, so the result would be wrong and the job stopped: ${message}`,
    oom
      ? 'The GPU ran out of memory: use a shorter sequence or a smaller batch, LoRA/QLoRA or a zeroth-order method (whetstone estimate compares them).'
      : ERROR_HINT,
  );
}

/**
 * Throws DEVICE_LOST when the device was lost, or DEVICE_ERROR for an uncaptured device error
 * since the last check (which clears it). No-op when WebGPU is not running.
 */
export function checkWebGpuDevice(): void {
  if (session?.lost !== undefined) throw deviceLost(session.lost);
  if (lastError !== undefined) {
    const { message } = lastError;
    lastError = undefined;
    throw deviceError(message);
  }
}

const SCOPES: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/**
 * Run `fn` (a training step, a forward pass) inside error scopes on the WebGPU device: any
 * validation, out-of-memory or internal error its commands raised fails it with an engine error,
 * and so does a lost device. Runs `fn` alone when WebGPU is not the running backend.
 */
export async function withWebGpuErrorScope<T>(fn: () => Promise<T>): Promise<T> {
  const device = session?.device;
  if (device === undefined || tf.getBackend() !== 'webgpu') return fn();
  checkWebGpuDevice();
  for (const filter of SCOPES) device.pushErrorScope(filter);
  const outcome = await fn().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  // Scopes pop in reverse; each resolves once the GPU has run what was submitted inside it.
  const errors = await Promise.all(
    [...SCOPES].reverse().map(() => device.popErrorScope().catch(() => null)),
  );
  const first = errors.find((e): e is GPUError => e !== null);
  if (first !== undefined) lastError = undefined; // reported here, not again at the next check
  // A lost device explains whatever else failed; then a device error explains a thrown one.
  checkWebGpuDevice();
  if (first !== undefined) throw deviceError(first.message);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
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

/**
 * Refuse tensors above the device's largest storage-buffer binding before anything is
 * dispatched: at creation (`write`, which outputs also go through) and when a buffer is acquired
 * (tensors moved in from another backend are uploaded there).
 */
function guardBuffers(backend: WebGPUBackend): void {
  const guarded = backend as WebGPUBackend & { whetstoneGuarded?: boolean };
  if (guarded.whetstoneGuarded) return;
  guarded.whetstoneGuarded = true;
  const check = (bytes: number): void => {
    const limit = bindingLimit(backend.device.limits);
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
  if (device !== undefined && session.lost === undefined)
    await device.queue.onSubmittedWorkDone().catch(() => undefined);
  return device;
}

/** After tfjs disposed the backend: destroy the device and drop navigator.gpu. */
export function finishWebGpuRelease(device: GPUDevice | undefined): void {
  device?.destroy();
  deviceInfo = undefined;
  dropGpu(); // tfjs has disposed its backends by now
}
