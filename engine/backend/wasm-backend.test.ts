// The wasm backend against the cpu reference: every op case forward and backward, the embedding
// gradient, and memory accounting. Its own file, so its own process (tfjs backends are global).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { memory } from './memory.js';
import { opCases } from './op-cases.js';
import { initBackend, releaseBackend, type BackendReport } from './select.js';
import { errorAgainstCpu, memoryFigures, onBackend } from './testing.js';
import { tf } from './tf.js';
import { WASM_HEAP_MAX_BYTES } from './wasm.js';

let report: BackendReport;

beforeAll(async () => {
  report = await initBackend({ backend: 'wasm' });
});
afterAll(() => releaseBackend());

describe('wasm backend', () => {
  it('reports the CPU it runs on and the heap ceiling', () => {
    expect(report).toMatchObject({
      backend: 'wasm',
      gpu: false,
      software: false,
      maxLiveBytes: WASM_HEAP_MAX_BYTES,
    });
    expect(report.device).toMatch(/^CPU \(wasm( SIMD)?, 1 thread\)$/);
  });

  it('the gradient of an embedding lookup (gather) matches cpu', async () => {
    const rng = new Rng(5);
    const table = rng.normals(50 * 8);
    const ids = Array.from({ length: 2 * 24 }, () => Math.floor(rng.uniform() * 50));
    const upstream = rng.normals(2 * 24 * 8);
    const grad = () =>
      tf.tidy(() => {
        const g = tf.grad((w: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.gather(w, tf.tensor2d(ids, [2, 24], 'int32')),
              tf.tensor(upstream, [2, 24, 8]),
            ),
          ),
        );
        return g(tf.tensor2d(table, [50, 8]));
      });
    const onWasm = grad();
    const wasmValues = await onWasm.data();
    const cpuValues = await onBackend('cpu', async () => {
      const g = grad();
      const values = await g.data();
      g.dispose();
      return values;
    });
    onWasm.dispose();
    expect(
      Array.from(wasmValues)
        .map((v, i) => Math.abs(v - cpuValues[i]!))
        .reduce((a, b) => Math.max(a, b)),
    ).toBeLessThan(1e-5);
  });

  it.each(opCases.map((c) => [c.name, c] as const))(
    '%s matches cpu forward and backward',
    async (_name, c) => {
      expect(await errorAgainstCpu(c)).toBeLessThan(1e-5);
    },
  );

  it('memory accounting matches tfjs on wasm', async () => {
    const { peak, profiledPeak, live, numBytes } = await memoryFigures();
    expect(live).toBe(numBytes);
    // tf.profile counts handles; the tracker counts buffers, so shared buffers count once.
    expect(peak).toBeLessThanOrEqual(profiledPeak);
    expect(peak).toBeGreaterThan(profiledPeak / 2);
    expect(peak).toBeGreaterThan(memory.liveBytes);
  });
});
