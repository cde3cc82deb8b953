// Starting a backend for a job with known needs: auto mode passes over backends that cannot hold
// it, a forced one is refused with DEVICE_LIMIT before anything loads, and the started backend's
// ceilings are then enforced tensor by tensor.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WhetstoneError } from '../errors.js';
import { WASM_HEAP_MAX_BYTES, type FitNeeds } from './fit.js';
import { startBackendFor, type FitRequest } from './fit-select.js';
import { memory } from './memory.js';
import { releaseBackend, type BackendLoader } from './select.js';
import { tf } from './tf.js';
import { BackendUnavailable } from './types.js';

afterAll(() => releaseBackend());
afterEach(() => {
  memory.setLimits({});
  delete process.env.WHETSTONE_BACKEND;
  delete process.env.WHETSTONE_MEMORY_LIMIT_BYTES;
  delete process.env.WHETSTONE_FIT_CHECK;
});

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** A loader that runs on the cpu backend but reports another device's limits. */
const onCpu =
  (info: {
    gpu: boolean;
    software?: boolean;
    maxLiveBytes?: number;
    maxBufferBytes?: number;
  }): BackendLoader =>
  async () => {
    await tf.setBackend('cpu');
    return { device: 'test device', software: false, ...info };
  };
const unavailable: BackendLoader = () => Promise.reject(new BackendUnavailable('not here'));

const request = (peakBytes: number, largestTensorBytes = MiB): FitRequest => ({
  needs: { what: 'test training', peakBytes, largestTensorBytes, hostOverheadBytes: 64 * MiB },
  alternatives: (fits) => {
    const smaller: FitNeeds = {
      what: 'smaller',
      peakBytes: 1 * MiB,
      largestTensorBytes: MiB,
      hostOverheadBytes: 0,
    };
    return Promise.resolve(fits(smaller) ? ['--method zo-sgd (about 1.0 MiB)'] : []);
  },
});

async function rejection(promise: Promise<unknown>): Promise<WhetstoneError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WhetstoneError);
  return err as WhetstoneError;
}

describe('starting a backend that fits the job', () => {
  it('in auto mode passes over backends whose ceilings the estimate exceeds, and says why', async () => {
    const report = await startBackendFor(
      {
        loaders: {
          tensorflow: unavailable,
          webgpu: onCpu({ gpu: true, maxBufferBytes: 64 * MiB }),
          native: unavailable,
          wasm: onCpu({ gpu: false, maxLiveBytes: 100 * MiB }),
        },
      },
      request(200 * MiB, 128 * MiB),
    );
    expect(report.backend).toBe('cpu');
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.backend, s.reason]));
    expect(reasons.tensorflow).toBe('not here');
    expect(reasons.webgpu).toMatch(
      /^does not fit: its largest tensor 128\.0 MiB, above the WebGPU/,
    );
    expect(reasons.wasm).toMatch(
      /^does not fit: tensors at peak 200\.0 MiB, above the wasm heap \(100\.0 MiB\)/,
    );
  });

  it('refuses a forced backend before loading, naming the estimate, the limit and what fits', async () => {
    process.env.WHETSTONE_BACKEND = 'wasm';
    const err = await rejection(
      startBackendFor(
        { loaders: { wasm: onCpu({ gpu: false, maxLiveBytes: WASM_HEAP_MAX_BYTES }) } },
        request(4.21 * GiB),
      ),
    );
    expect(err.code).toBe('DEVICE_LIMIT');
    expect(err.message).toMatch(
      /test training does not fit the wasm backend: the estimate needs tensors at peak 4\.21 GiB, above the wasm heap \(4\.00 GiB\)/,
    );
    // native (where built) and cpu are bounded by host memory only (this machine has more than
    // 4.3 GiB available).
    expect(err.message).toMatch(
      /Would fit: (--backend native \(available host memory, [\d.]+ GiB\); )?--backend cpu \(available host memory, [\d.]+ GiB\); --method zo-sgd \(about 1\.0 MiB\)\./,
    );
  });

  it('refuses with DEVICE_LIMIT when no backend that starts can hold the job', async () => {
    process.env.WHETSTONE_MEMORY_LIMIT_BYTES = String(8 * MiB);
    const err = await rejection(
      startBackendFor(
        {
          loaders: {
            tensorflow: unavailable,
            webgpu: unavailable,
            native: unavailable,
            wasm: unavailable,
          },
        },
        request(16 * MiB),
      ),
    );
    expect(err.code).toBe('DEVICE_LIMIT');
    expect(err.message).toMatch(
      /does not fit the cpu backend: .*above WHETSTONE_MEMORY_LIMIT_BYTES \(8\.0 MiB\)\. Would fit: --method zo-sgd/,
    );
  });

  it('WHETSTONE_FIT_CHECK=off starts anyway, and the ceiling then stops the allocation that passes it', async () => {
    process.env.WHETSTONE_FIT_CHECK = 'off';
    process.env.WHETSTONE_MEMORY_LIMIT_BYTES = String(memory.liveBytes + 4 * MiB);
    const report = await startBackendFor({ backend: 'cpu' }, request(16 * MiB));
    expect(report.backend).toBe('cpu');
    const kept = tf.zeros([MiB / 4]); // 1 MiB
    const err = await rejection(Promise.resolve().then(() => tf.zeros([(8 * MiB) / 4])));
    expect(err.code).toBe('DEVICE_LIMIT');
    expect(err.message).toMatch(
      /Out of memory: 8\.0 MiB more with [\d.]+ MiB of tensors alive would pass WHETSTONE_MEMORY_LIMIT_BYTES/,
    );
    kept.dispose();
  });

  it('guards a started webgpu-like backend’s binding limit tensor by tensor', async () => {
    await startBackendFor({
      backend: 'webgpu',
      loaders: { webgpu: onCpu({ gpu: true, maxBufferBytes: 2 * MiB }) },
    });
    expect(() => tf.zeros([MiB / 4])).not.toThrow();
    expect(() => tf.zeros([(4 * MiB) / 4])).toThrow(
      /A 4\.0 MiB tensor is larger than the WebGPU device's largest buffer binding \(2\.0 MiB\)/,
    );
  });
});
