// Backend selection: auto order and skip reasons, forced backends, the environment variable, and
// simulated tfjs-node installs (the real ones cannot be installed here).
import { existsSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WhetstoneError } from '../errors.js';
import { memory } from './memory.js';
import {
  activeBackend,
  backendNames,
  BackendUnavailable,
  initBackend,
  parseBackendName,
  releaseBackend,
  type BackendLoader,
  type BackendReport,
} from './select.js';
import { tensorflowLoader, type TensorflowPackage } from './tensorflow.js';
import { memoryFigures } from './testing.js';
import { tf } from './tf.js';
import { describeAdapter } from './webgpu.js';
import { nativeAvailability } from './native/availability.js';

/** The best CPU backend here: native where its addon is built, else wasm. */
const cpuBest = nativeAvailability().available ? 'native' : 'wasm';

afterAll(() => releaseBackend());

const reasonFor = (report: BackendReport, backend: string) =>
  report.skipped.find((s) => s.backend === backend)?.reason;

async function rejection(promise: Promise<unknown>): Promise<WhetstoneError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WhetstoneError);
  return err as WhetstoneError;
}

/** An importer that registers a stand-in 'tensorflow' backend: cpu with tfjs-node's flags. */
function fakeTfjsNode(flags: { isGPUPackage: boolean; isUsingGpuDevice: boolean }) {
  return (_name: TensorflowPackage): Promise<void> => {
    const cpuFactory = tf.findBackendFactory('cpu');
    if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
    tf.registerBackend('tensorflow', async () => Object.assign(await cpuFactory(), flags));
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (tf.getKernel(k.kernelName, 'tensorflow') === undefined)
        tf.registerKernel({ ...k, backendName: 'tensorflow' });
    }
    return Promise.resolve();
  };
}

describe('backend selection', () => {
  afterEach(() => {
    delete process.env.WHETSTONE_BACKEND;
  });

  it('auto mode takes the best backend that starts and says why each better one was skipped', async () => {
    const report = await initBackend();
    const rank = backendNames.indexOf(report.backend);
    expect(report.skipped.map((s) => s.backend)).toEqual(backendNames.slice(0, rank));
    for (const s of report.skipped) expect(s.reason.length).toBeGreaterThan(0);
    expect(tf.getBackend()).toBe(report.backend);
    expect(activeBackend()).toBe(report.backend);
    // This machine and CI: tfjs-node's native addon cannot be downloaded, and the only WebGPU
    // adapter is SwiftShader (or none at all).
    const addon = ['tfjs-node', 'tfjs-node-gpu'].some((p) =>
      existsSync(`node_modules/@tensorflow/${p}/lib`),
    );
    if (!addon)
      expect(reasonFor(report, 'tensorflow')).toMatch(
        /^not installed \(optional dependency; needs libtensorflow\)/,
      );
    if (!addon && process.env.VK_ICD_FILENAMES?.includes('swiftshader')) {
      expect(report.backend).toBe(cpuBest);
      expect(reasonFor(report, 'webgpu')).toMatch(
        /^(software adapter google\/swiftshader ranks below the CPU backends; force with --backend webgpu|no WebGPU adapter)$/,
      );
      expect(report).toMatchObject({ gpu: false, software: false });
    }
  });

  it.each(['cpu', 'wasm'] as const)(
    'a forced %s backend starts with nothing skipped',
    async (backend) => {
      const report = await initBackend({ backend });
      expect(report).toMatchObject({ backend, gpu: false, software: false, skipped: [] });
      expect(tf.getBackend()).toBe(backend);
      expect(tf.sum(tf.tensor1d([1, 2, 3])).arraySync()).toBe(6);
    },
  );

  it('installs the memory tracker, which agrees with tfjs', async () => {
    await initBackend({ backend: 'cpu' });
    const { peak, profiledPeak, live, numBytes } = await memoryFigures();
    expect(live).toBe(numBytes);
    expect(memory.liveBytes).toBe(tf.memory().numBytes);
    // tf.profile counts handles; the tracker counts buffers, so shared buffers count once.
    expect(peak).toBeLessThanOrEqual(profiledPeak);
    expect(peak).toBeGreaterThan(profiledPeak / 2);
    expect(peak).toBeGreaterThan(live);
  });

  it('a forced tensorflow backend that is not installed is an error, and the previous backend stays', async () => {
    await initBackend({ backend: 'cpu' });
    const err = await rejection(initBackend({ backend: 'tensorflow' }));
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toMatch(/^The tensorflow backend is unavailable: not installed/);
    expect(err.hint).toMatch(/tfjs-node/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('a forced backend whose loader fails is an error, not a fallback', async () => {
    const failing: BackendLoader = () =>
      Promise.reject(new BackendUnavailable('no WebGPU adapter', 'Plug in a GPU.'));
    const err = await rejection(initBackend({ backend: 'webgpu', loaders: { webgpu: failing } }));
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toBe('The webgpu backend is unavailable: no WebGPU adapter');
    expect(err.hint).toMatch(/^Plug in a GPU\. Use --backend native, wasm or cpu\.$/);
  });

  it('reports tfjs-node-gpu running without CUDA as a CPU backend, and keeps it', async () => {
    const tensorflow = tensorflowLoader({
      importPackage: fakeTfjsNode({ isGPUPackage: true, isUsingGpuDevice: false }),
    });
    const report = await initBackend({ loaders: { tensorflow } });
    expect(report).toEqual({
      backend: 'tensorflow',
      device: 'CPU (tfjs-node-gpu found no CUDA device)',
      gpu: false,
      software: false,
      skipped: [],
    });
    expect(tf.getBackend()).toBe('tensorflow');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data())).toEqual([2, 3]);
  });

  it('reports tfjs-node-gpu on CUDA with the GPU name', async () => {
    const tensorflow = tensorflowLoader({
      importPackage: fakeTfjsNode({ isGPUPackage: true, isUsingGpuDevice: true }),
      gpuName: () => Promise.resolve('NVIDIA H100 80GB HBM3'),
    });
    const report = await initBackend({ loaders: { tensorflow } });
    expect(report).toMatchObject({
      backend: 'tensorflow',
      device: 'NVIDIA H100 80GB HBM3 (CUDA)',
      gpu: true,
      skipped: [],
    });
  });

  it('falls back to tfjs-node (native CPU) when tfjs-node-gpu fails to load', async () => {
    const cpuOnly = fakeTfjsNode({ isGPUPackage: false, isUsingGpuDevice: false });
    const tensorflow = tensorflowLoader({
      importPackage: (name) =>
        name === '@tensorflow/tfjs-node-gpu'
          ? Promise.reject(new Error('libcudart.so.11.0: cannot open shared object file'))
          : cpuOnly(name),
    });
    const report = await initBackend({ loaders: { tensorflow } });
    expect(report).toMatchObject({
      backend: 'tensorflow',
      device: 'CPU (libtensorflow)',
      gpu: false,
    });
  });

  it('records why tensorflow failed and moves on in auto mode', async () => {
    const tensorflow = tensorflowLoader({
      importPackage: (name) =>
        Promise.reject(
          name === '@tensorflow/tfjs-node-gpu'
            ? new Error('libcudart.so.11.0: cannot open shared object file\nstack')
            : new BackendUnavailable('not installed (optional dependency; needs libtensorflow)'),
        ),
    });
    const webgpu: BackendLoader = () =>
      Promise.reject(
        new BackendUnavailable(
          'software adapter google/swiftshader ranks below the CPU backends; force with --backend webgpu',
        ),
      );
    const report = await initBackend({ loaders: { tensorflow, webgpu } });
    expect(report.backend).toBe(cpuBest);
    expect(report.skipped).toEqual([
      {
        backend: 'tensorflow',
        reason:
          '@tensorflow/tfjs-node-gpu: libcudart.so.11.0: cannot open shared object file; @tensorflow/tfjs-node: not installed (optional dependency; needs libtensorflow)',
      },
      {
        backend: 'webgpu',
        reason:
          'software adapter google/swiftshader ranks below the CPU backends; force with --backend webgpu',
      },
    ]);
  });

  it('honours WHETSTONE_BACKEND, below an explicit option', async () => {
    process.env.WHETSTONE_BACKEND = ' CPU ';
    expect((await initBackend()).backend).toBe('cpu');
    expect((await initBackend({ backend: 'wasm' })).backend).toBe('wasm');
    process.env.WHETSTONE_BACKEND = 'wasm';
    expect((await initBackend()).backend).toBe('wasm');
    process.env.WHETSTONE_BACKEND = 'bogus';
    const err = await rejection(initBackend());
    expect(err.code).toBe('BAD_ARGUMENT');
    expect(err.message).toBe(
      "WHETSTONE_BACKEND: Unknown backend 'bogus'. Valid backends: tensorflow, webgpu, native, wasm, cpu.",
    );
  });

  it('parses backend names and rejects others, listing the valid ones', () => {
    expect(parseBackendName('WebGPU')).toBe('webgpu');
    expect(() => parseBackendName('gpu')).toThrow(
      /^Unknown backend 'gpu'\. Valid backends: tensorflow, webgpu, native, wasm, cpu\.$/,
    );
    try {
      parseBackendName('cuda');
    } catch (err) {
      expect((err as WhetstoneError).code).toBe('BAD_ARGUMENT');
    }
  });

  it('releases everything and can start again', async () => {
    await initBackend({ backend: 'wasm' });
    tf.ones([4]);
    await releaseBackend();
    expect(activeBackend()).toBeUndefined();
    expect(tf.engine().state.numTensors).toBe(0);
    const report = await initBackend({ backend: 'wasm' });
    expect(report.backend).toBe('wasm');
    expect(Array.from(await tf.add(tf.ones([2]), 1).data())).toEqual([2, 2]);
    expect(memory.liveBytes).toBe(tf.memory().numBytes);
  });
});

describe('WebGPU adapter description', () => {
  const adapter = (info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }) =>
    ({
      info: { vendor: '', architecture: '', device: '', description: '', ...info },
    }) as unknown as GPUAdapter;

  it.each([
    [
      {
        vendor: 'google',
        architecture: 'swiftshader',
        device: 'swiftshader-device-subzero-',
        description: 'SwiftShader driver 5.0.0',
      },
      'google swiftshader (SwiftShader driver 5.0.0, software)',
      true,
    ],
    [
      { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
      'mesa (llvmpipe (LLVM 15.0.6, 256 bits), software)',
      true,
    ],
    [
      { vendor: 'intel', architecture: 'gen-12lp', isFallbackAdapter: true },
      'intel gen-12lp (software)',
      true,
    ],
    [
      { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' },
      'nvidia hopper (NVIDIA H100 80GB HBM3)',
      false,
    ],
  ])('%o is named %s, software: %s', (info, name, software) => {
    expect(describeAdapter(adapter(info))).toMatchObject({ name, software });
  });
});
