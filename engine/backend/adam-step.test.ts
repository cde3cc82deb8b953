// The AdamStep kernels on cpu, wasm and webgpu against the same formula in double precision, and
// that the kernel allocates nothing but its output.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { adamStep, type AdamStepAttrs } from './adam-step.js';
import { memory } from './memory.js';
import { initBackend } from './select.js';
import { tf } from './tf.js';

const required = process.env.WHETSTONE_REQUIRE_WEBGPU === '1';
const n = 3001;
const rng = new Rng(5);
const x = rng.normals(n);
const m = rng.normals(n, 0.1);
const v = Float32Array.from(rng.normals(n, 0.01), (e) => e * e);
const attrs: AdamStepAttrs = {
  decay: 0.999,
  scale: 1e-3 / (1 - 0.9 ** 3),
  vScale: 1 / (1 - 0.999 ** 3),
  eps: 1e-8,
};
const expected = Array.from(
  x,
  (xi, i) =>
    attrs.decay * xi - (attrs.scale * m[i]!) / (Math.sqrt(attrs.vScale * v[i]!) + attrs.eps),
);

afterAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe.each([
  ['cpu', 1e-6],
  ['wasm', 1e-6],
  ['webgpu', 1e-5],
] as const)('AdamStep on %s', (backend, tolerance) => {
  it('computes decay·θ − scale·m/(sqrt(vScale·v) + ε) into one new buffer', async () => {
    try {
      await initBackend({ backend });
    } catch (err) {
      if (backend === 'webgpu' && !required) return;
      throw err;
    }
    const [xt, mt, vt] = [tf.tensor(x), tf.tensor(m), tf.tensor(v)];
    const before = memory.liveBytes;
    memory.resetPeak();
    const out = adamStep(xt, mt, vt, attrs);
    expect(memory.peakBytes - before).toBe(n * 4);
    const got = (await out.data()) as Float32Array;
    for (let i = 0; i < n; i++) {
      expect(Math.abs(got[i]! - expected[i]!)).toBeLessThanOrEqual(
        tolerance * Math.max(1, Math.abs(expected[i]!)),
      );
    }
    tf.dispose([xt, mt, vt, out]);
  });
});
