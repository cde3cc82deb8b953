// The NoiseAxpy kernels on cpu, wasm and webgpu and the stock-op composite (the tensorflow
// backend's path, run here on cpu) against the reference loop of engine/util/counter-rng.ts; and
// that the kernel allocates nothing but its output.
import { afterAll, describe, expect, it } from 'vitest';
import { fillNormals, noiseAxpyInto, streamOf } from '../util/counter-rng.js';
import { memory } from './memory.js';
import { noiseAxpyComposite } from './noise-composite.js';
import { noiseAxpy, normalNoise } from './noise.js';
import { initBackend } from './select.js';
import { tf } from './tf.js';

const required = process.env.WHETSTONE_REQUIRE_WEBGPU === '1';
const stream = streamOf('lm_head.weight');
const shape = [37, 129]; // odd size: the last pair is half used
const n = 37 * 129;
const reference = fillNormals(new Float32Array(n), 42, stream);
const x = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 3);

afterAll(async () => {
  await initBackend({ backend: 'cpu' });
});

async function webgpuReady(): Promise<boolean> {
  try {
    await initBackend({ backend: 'webgpu' });
    return true;
  } catch (err) {
    if (required) throw err;
    return false;
  }
}

describe.each([
  ['cpu', 0],
  ['wasm', 0],
  // The shader runs the reference's float32 steps (SwiftShader gives the same bits), but WGSL
  // lets a GPU fuse a multiply and an add and divide within 2.5 ulp: the last bits may differ.
  ['webgpu', 1e-6],
] as const)('NoiseAxpy on %s', (backend, tolerance) => {
  it('draws the reference noise and computes a·x + b·z', async () => {
    if (backend === 'webgpu' && !(await webgpuReady())) return;
    if (backend !== 'webgpu') await initBackend({ backend });
    const z = normalNoise(shape, { seed: 42, stream });
    const zs = (await z.data()) as Float32Array;
    const xt = tf.tensor(x, shape);
    const y = noiseAxpy(xt, 0.75, -0.5, { seed: 42, stream });
    const ys = (await y.data()) as Float32Array;
    const expected = new Float32Array(n);
    noiseAxpyInto(expected, x, 0.75, -0.5, 42, stream, 'none');
    for (let i = 0; i < n; i++) {
      expect(Math.abs(zs[i]! - reference[i]!)).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(reference[i]!)),
      );
      expect(Math.abs(ys[i]! - expected[i]!)).toBeLessThanOrEqual(tolerance * 4 + 1e-6);
    }
    if (tolerance === 0) expect(zs).toEqual(reference);
    // Same seed, same values, every call; another seed, other values.
    expect(await normalNoise(shape, { seed: 42, stream }).data()).toEqual(zs);
    const other = (await normalNoise(shape, { seed: 43, stream }).data()) as Float32Array;
    expect(other.filter((v, i) => v === zs[i]).length).toBeLessThan(n / 100);
    const signs = (await noiseAxpy(xt, 0, 1, {
      seed: 42,
      stream,
      transform: 'sign',
    }).data()) as Float32Array;
    expect(Array.from(signs)).toEqual(Array.from(reference, Math.sign));
    tf.dispose([z, xt, y]);
  });

  it('allocates only its output', async () => {
    if (backend === 'webgpu' && !(await webgpuReady())) return;
    if (backend !== 'webgpu') await initBackend({ backend });
    const xt = tf.tensor(x, shape);
    const before = memory.liveBytes;
    memory.resetPeak();
    const y = noiseAxpy(xt, 1, 1e-3, { seed: 1, stream });
    expect(memory.peakBytes - before).toBe(n * 4);
    tf.dispose([xt, y]);
  });
});

describe('NoiseAxpy from stock ops (the tensorflow backend’s path)', () => {
  it('draws the same noise as the kernel, bit for bit on cpu', async () => {
    await initBackend({ backend: 'cpu' });
    const xt = tf.tensor(x, shape);
    const y = noiseAxpyComposite(xt, 0.75, -0.5, 42, stream, 'none', shape);
    const z = noiseAxpyComposite(undefined, 0, 1, 42, stream, 'none', shape);
    const ys = (await y.data()) as Float32Array;
    const zs = (await z.data()) as Float32Array;
    const expected = new Float32Array(n);
    noiseAxpyInto(expected, x, 0.75, -0.5, 42, stream, 'none');
    // Every tfjs op rounds to float32 once, as every Math.fround of the reference.
    expect(zs).toEqual(reference);
    expect(ys).toEqual(expected);
    for (const transform of ['sign', 'square'] as const) {
      const t = noiseAxpyComposite(xt, 0.3, 1e-3, 42, stream, transform, shape);
      noiseAxpyInto(expected, x, 0.3, 1e-3, 42, stream, transform);
      expect(await t.data(), transform).toEqual(expected);
      t.dispose();
    }
    expect(y.shape).toEqual(shape);
    tf.dispose([xt, y, z]);
  });

  it('frees its temporaries part by part', async () => {
    await initBackend({ backend: 'cpu' });
    const before = memory.liveBytes;
    memory.resetPeak();
    const z = noiseAxpyComposite(undefined, 0, 1, 42, stream, 'none', shape);
    // Measured 30.6 tensors' worth at 2^18 elements (79 with one tidy around everything).
    expect(memory.peakBytes - before).toBeLessThan(32 * n * 4);
    expect(memory.liveBytes - before).toBe(n * 4);
    z.dispose();
  });
});
