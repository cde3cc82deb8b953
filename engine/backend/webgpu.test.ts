// The webgpu backend on this machine's adapter (SwiftShader without a GPU) against the cpu
// reference, the buffer-size guard, device errors, memory accounting and release. Skips when no
// adapter exists, unless WHETSTONE_REQUIRE_WEBGPU=1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhetstoneError } from '../errors.js';
import { setLogSink } from '../log.js';
import { Rng } from '../util/rng.js';
import { opCases, relativeError } from './op-cases.js';
import { initBackend, releaseBackend, type BackendReport } from './select.js';
import {
  errorAgainstCpu,
  expectSame,
  intCases,
  memoryFigures,
  onBackend,
  valuesOn,
} from './testing.js';
import { tf } from './tf.js';
import {
  checkWebGpuDevice,
  clearWebGpuError,
  lastWebGpuError,
  setWebGpuBufferLimit,
  webgpuDeviceInfo,
  withWebGpuErrorScope,
} from './webgpu.js';

const required = process.env.WHETSTONE_REQUIRE_WEBGPU === '1';
const started: { report: BackendReport } | { error: string } = await initBackend({
  backend: 'webgpu',
}).then(
  (report) => ({ report }),
  (err: unknown) => ({ error: (err as Error).message }),
);
const unavailable = 'error' in started ? started.error : undefined;
const title = `webgpu backend${unavailable !== undefined && !required ? ` (skipped: ${unavailable})` : ''}`;

async function rejection(run: () => unknown): Promise<WhetstoneError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(WhetstoneError);
    return err as WhetstoneError;
  }
  throw new Error('expected an error');
}

describe.skipIf(unavailable !== undefined && !required)(title, () => {
  let report: BackendReport;
  beforeAll(() => {
    if ('error' in started)
      throw new Error(
        `WebGPU is required (WHETSTONE_REQUIRE_WEBGPU=1) but unavailable: ${started.error}`,
      );
    report = started.report;
  });
  afterAll(() => releaseBackend());

  it('reports the adapter, its kind and its buffer limit', () => {
    expect(report.backend).toBe('webgpu');
    expect(report.gpu).toBe(!report.software);
    expect(report.maxBufferBytes).toBeGreaterThanOrEqual(128 * 1024 * 1024); // WebGPU's guaranteed minimum
    if (/swiftshader/i.test(report.device)) {
      expect(report.software).toBe(true);
      expect(report.device).toMatch(/software\)$/);
    }
    expect(tf.getBackend()).toBe('webgpu');
  });

  it("creates its device with the adapter's limits and the wanted features it offers", async () => {
    const info = webgpuDeviceInfo()!;
    const adapter = (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }))!;
    expect(info.limits.maxStorageBufferBindingSize).toBe(
      adapter.limits.maxStorageBufferBindingSize,
    );
    expect(info.limits.maxBufferSize).toBe(adapter.limits.maxBufferSize);
    expect(info.limits.maxComputeWorkgroupStorageSize).toBe(
      adapter.limits.maxComputeWorkgroupStorageSize,
    );
    for (const feature of ['shader-f16', 'timestamp-query'])
      expect(info.features.includes(feature)).toBe(adapter.features.has(feature));
    // tfjs runs on that very device.
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    expect(device.limits.maxStorageBufferBindingSize).toBe(
      adapter.limits.maxStorageBufferBindingSize,
    );
    expect(report.maxBufferBytes).toBe(
      Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize),
    );
  });

  it('matmul + softmax and its gradient match cpu within 1e-5', async () => {
    const rng = new Rng(3);
    const [x, w, t] = [rng.normals(16 * 32), rng.normals(32 * 24, 0.2), rng.normals(16 * 24)];
    const run = async () => {
      const [loss, dx, dw] = tf.tidy((): [tf.Tensor, tf.Tensor, tf.Tensor] => {
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.softmax(tf.matMul(a, b)), tf.tensor(t, [16, 24])));
        // tf.grads gives one gradient per input.
        const [gx, gw] = tf.grads(f)([tf.tensor(x, [16, 32]), tf.tensor(w, [32, 24])]);
        return [f(tf.tensor(x, [16, 32]), tf.tensor(w, [32, 24])), gx!, gw!];
      });
      const values = await Promise.all([loss, dx, dw].map((v) => v.data()));
      tf.dispose([loss, dx, dw]);
      return values;
    };
    const gpu = await run();
    const cpu = await onBackend('cpu', run);
    for (let i = 0; i < 3; i++) expect(relativeError(gpu[i]!, cpu[i]!, 0)).toBeLessThan(1e-5);
  });

  // WGSL only promises sin/cos to 2^-11 absolute on [-pi, pi]; SwiftShader uses that latitude.
  const tolerance: Record<string, number> = { 'sin cos': 1e-3 };

  it.each(opCases.map((c) => [c.name, c] as const))(
    '%s matches cpu forward and backward',
    async (name, c) => {
      expect(await errorAgainstCpu(c)).toBeLessThan(tolerance[name] ?? 1e-5);
    },
  );

  it('reverse cumsum matches cpu across lengths (the shader cache would reuse a wrong one)', async () => {
    const cases: [number[], number, boolean][] = [
      [[3, 4], 1, false],
      [[3, 5], 1, false],
      [[2, 7], 1, true],
      [[4, 3], 0, true],
      [[6, 2, 3], 1, false],
    ];
    for (const [shape, axis, exclusive] of cases) {
      const x = new Rng(shape[0]!).normals(shape.reduce((a, b) => a * b, 1));
      const run = () => tf.tidy(() => tf.cumsum(tf.tensor(x, shape), axis, exclusive, true));
      const [gpu, cpu] = [await valuesOn('webgpu', run), await valuesOn('cpu', run)];
      expect(relativeError(gpu.values, cpu.values), `${shape.join('x')} axis ${axis}`).toBeLessThan(
        1e-5,
      );
    }
    const run = () => tf.tidy(() => tf.cumprod(tf.tensor([[1, 2, 3, 4, 5, 6]]), 1, false, true));
    expect((await valuesOn('webgpu', run)).values).toEqual([720, 720, 360, 120, 30, 6]);
  });

  it.each(intCases.map((c) => [c.name, c] as const))(
    'int32/bool: %s matches cpu',
    async (_name, c) => {
      await expectSame('webgpu', c.name, c.run);
    },
  );

  it('refuses a tensor above the buffer limit before dispatching, and recovers', async () => {
    const before = tf.memory().numTensors;
    setWebGpuBufferLimit(4096);
    try {
      const small = tf.ones([1024]); // exactly at the limit
      const created = await rejection(() => tf.tensor1d(new Float32Array(1025)));
      expect(created.code).toBe('DEVICE_LIMIT');
      expect(created.message).toBe(
        "A tensor of 4100 bytes (4.0 KiB) exceeds this GPU's largest buffer binding (4096 bytes, 4.0 KiB); past it WebGPU results are silently wrong.",
      );
      expect(created.hint).toMatch(/smaller batch or sequence length, or another backend/);
      // A kernel's output above the limit.
      expect((await rejection(() => tf.concat([small, small]))).code).toBe('DEVICE_LIMIT');
      // A tensor made on another backend, uploaded when a kernel first reads it.
      const moved = await onBackend('cpu', () => Promise.resolve(tf.ones([2048])));
      expect((await rejection(() => tf.sum(moved))).code).toBe('DEVICE_LIMIT');
      tf.dispose([small, moved]);
    } finally {
      setWebGpuBufferLimit(undefined);
    }
    expect(tf.memory().numTensors).toBe(before);
    const big = tf.concat([tf.ones([1024]), tf.ones([1024])]);
    expect((await tf.sum(big).data())[0]).toBe(2048);
    big.dispose();
  });

  it('logs and keeps the device error nothing else reports', async () => {
    const lines: string[] = [];
    const previous = setLogSink((level, _scope, message) => {
      lines.push(`${level}: ${message}`);
    });
    try {
      clearWebGpuError();
      const device = (tf.backend() as unknown as { device: GPUDevice }).device;
      device.createBuffer({ size: 2 ** 40, usage: GPUBufferUsage.STORAGE }); // over any maxBufferSize
      for (let i = 0; i < 100 && lastWebGpuError() === undefined; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(lastWebGpuError()?.message).toMatch(/size/i);
      expect(lines.some((l) => l.startsWith('error: WebGPU device error:'))).toBe(true);
    } finally {
      setLogSink(previous);
      clearWebGpuError();
    }
  });

  it('a device error inside a step fails it with DEVICE_ERROR, not a silent result', async () => {
    const previous = setLogSink(() => undefined);
    try {
      const device = (tf.backend() as unknown as { device: GPUDevice }).device;
      const failed = await rejection(() =>
        withWebGpuErrorScope(async () => {
          const sum = tf.sum(tf.ones([8]));
          device.createBuffer({ size: 2 ** 40, usage: GPUBufferUsage.STORAGE });
          const value = (await sum.data())[0];
          sum.dispose();
          return value;
        }),
      );
      expect(failed.code).toBe('DEVICE_ERROR');
      expect(failed.message).toMatch(/^The WebGPU device reported an error, .*size/is);
      // Caught by the scope: the next check has nothing left to report, and work goes on.
      expect(() => checkWebGpuDevice()).not.toThrow();
      const ok = await withWebGpuErrorScope(() => tf.sum(tf.ones([4])).data());
      expect(ok[0]).toBe(4);
    } finally {
      setLogSink(previous);
    }
  });

  it('memory accounting matches tfjs on webgpu', async () => {
    const { peak, profiledPeak, live, numBytes } = await memoryFigures();
    expect(live).toBe(numBytes);
    // tf.profile counts handles; the tracker counts buffers, so shared buffers count once.
    expect(peak).toBeLessThanOrEqual(profiledPeak);
    expect(peak).toBeGreaterThan(profiledPeak / 2);
    expect(peak).toBeGreaterThan(live);
  });

  it('a lost device fails the next step with DEVICE_LOST and a hint, and WebGPU starts again', async () => {
    const previous = setLogSink(() => undefined);
    try {
      const device = (tf.backend() as unknown as { device: GPUDevice }).device;
      device.destroy(); // as a driver reset would, from outside the engine
      await device.lost;
      await new Promise((r) => setTimeout(r, 0));
      const lost = await rejection(() => withWebGpuErrorScope(() => tf.ones([2]).data()));
      expect(lost.code).toBe('DEVICE_LOST');
      expect(lost.message).toMatch(/^The WebGPU device was lost \(destroyed/);
      expect(lost.hint).toMatch(/last checkpoint/);
      await releaseBackend();
    } finally {
      setLogSink(previous);
    }
    await initBackend({ backend: 'webgpu' });
    expect(Array.from(await tf.add(tf.ones([3]), 1).data())).toEqual([2, 2, 2]);
    expect(() => checkWebGpuDevice()).not.toThrow();
  });

  it('release destroys the device and removes navigator.gpu', async () => {
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    await releaseBackend();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    expect((await device.lost).reason).toBe('destroyed');
    // And WebGPU starts again afterwards.
    const again = await initBackend({ backend: 'webgpu' });
    expect(again.backend).toBe('webgpu');
    expect(Array.from(await tf.add(tf.ones([3]), 1).data())).toEqual([2, 2, 2]);
  });
});
