// The wasm backend's SIMD NoiseAxpy (noise-simd.wat on tfjs-backend-wasm's heap) against the
// reference loop, bit for bit, over sizes around its 8-element step, every transform, with x
// apart and in place; and the shipped binary against its source.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noiseAxpyInto, streamKey, type NoiseTransform } from '../util/counter-rng.js';
import type { WasmBackend } from './custom-kernels.js';
import { simdNoiseAxpy, simdNoiseOn } from './noise-simd.js';
import { initBackend, releaseBackend } from './select.js';
import { tf } from './tf.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});
afterAll(() => releaseBackend());

const backend = () => tf.backend() as unknown as WasmBackend;

/** A float32 tensor on the wasm heap, with a view of its bytes there. */
function heapTensor(values: Float32Array) {
  const t = tf.tensor1d(values);
  return { t, view: backend().typedArrayFromHeap(t) };
}

describe('SIMD NoiseAxpy on the wasm heap', () => {
  it('loads on the wasm backend', () => {
    expect(simdNoiseOn(tf.backend())).toBeTypeOf('function');
    // Not a tfjs-backend-wasm: the JS loop takes over.
    expect(simdNoiseOn({})).toBeUndefined();
  });

  it.each(['none', 'sign', 'square'] as NoiseTransform[])(
    'is the reference bit for bit, transform %s',
    (transform) => {
      const run = simdNoiseOn(tf.backend())!;
      const key = streamKey(77, 2 ** 32 - 3);
      for (const n of [1, 2, 7, 8, 9, 15, 16, 17, 64, 1001, 65_541]) {
        const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 4);
        const reference = (withX: boolean) => {
          const want = new Float32Array(n);
          noiseAxpyInto(want, withX ? x : undefined, 0.3, -1.7, 77, 2 ** 32 - 3, transform);
          return want;
        };
        const out = heapTensor(new Float32Array(n).fill(-9));
        const xs = heapTensor(x);
        simdNoiseAxpy(run, out.view, undefined, 0.3, -1.7, key, transform);
        expect(out.view, `n ${n} without x`).toEqual(reference(false));
        simdNoiseAxpy(run, out.view, xs.view, 0.3, -1.7, key, transform);
        expect(out.view, `n ${n}`).toEqual(reference(true));
        simdNoiseAxpy(run, xs.view, xs.view, 0.3, -1.7, key, transform);
        expect(xs.view, `n ${n} in place`).toEqual(reference(true));
        tf.dispose([out.t, xs.t]);
      }
    },
  );

  it('ships the binary that noise-simd.wat assembles to', () => {
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'build-noise-wasm.js');
    expect(() =>
      execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
