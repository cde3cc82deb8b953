import { describe, expect, it } from 'vitest';
import { tf } from '../../backend/tf.js';
import { Rng } from '../../util/rng.js';
import { causalAttention, causalMaskValues, ConstantCache } from './attention.js';

/** Direct attention for one head: q [T, D], k/v [T, D]. */
function naiveHead(
  q: number[][],
  k: number[][],
  v: number[][],
  scale: number,
  window?: number,
): number[][] {
  return q.map((qi, t) => {
    const first = window === undefined ? 0 : Math.max(0, t - window + 1);
    const scores = k.map((kj, j) =>
      j <= t && j >= first ? scale * qi.reduce((s, x, d) => s + x * kj[d]!, 0) : -Infinity,
    );
    const max = Math.max(...scores);
    const weights = scores.map((s) => Math.exp(s - max));
    const z = weights.reduce((a, b) => a + b, 0);
    return v[0]!.map((_, d) => weights.reduce((s, w, j) => s + (w / z) * v[j]![d]!, 0));
  });
}

function rows(
  values: Float32Array,
  h: number,
  t: number,
  d: number,
  bi: number,
  hi: number,
): number[][] {
  return Array.from({ length: t }, (_, ti) =>
    Array.from(values.subarray(((bi * h + hi) * t + ti) * d, ((bi * h + hi) * t + ti + 1) * d)),
  );
}

describe('causal attention', () => {
  it('masks the future (and, with a window, the distant past)', () => {
    const m = causalMaskValues(3, 5, 2, 2);
    // Query 0 sits at position 2: it sees keys 1..2 with a window of 2.
    expect(Array.from(m.subarray(0, 5)).map((x) => x === 0)).toEqual([
      false,
      true,
      true,
      false,
      false,
    ]);
    expect(Array.from(m.subarray(10, 15)).map((x) => x === 0)).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
  });

  it.each([undefined, 3])(
    'grouped-query heads match per-head attention (window %s)',
    async (window) => {
      const [b, h, kv, t, d] = [2, 6, 2, 7, 4];
      const rng = new Rng(4);
      const qv = rng.normals(b * h * t * d);
      const kvv = rng.normals(b * kv * t * d);
      const vv = rng.normals(b * kv * t * d);
      const constants = new ConstantCache();
      const out = causalAttention(
        tf.tensor4d(qv, [b, h, t, d]),
        tf.tensor4d(kvv, [b, kv, t, d]),
        tf.tensor4d(vv, [b, kv, t, d]),
        { scale: 0.5, window, constants },
      );
      expect(out.shape).toEqual([b, t, h * d]);
      const values = (await out.data()) as Float32Array;
      for (let bi = 0; bi < b; bi++) {
        for (let hi = 0; hi < h; hi++) {
          const kvHead = Math.floor(hi / (h / kv)); // as transformers' repeat_kv
          const expected = naiveHead(
            rows(qv, h, t, d, bi, hi),
            rows(kvv, kv, t, d, bi, kvHead),
            rows(vv, kv, t, d, bi, kvHead),
            0.5,
            window,
          );
          for (let ti = 0; ti < t; ti++) {
            for (let di = 0; di < d; di++)
              expect(values[(bi * t + ti) * h * d + hi * d + di]).toBeCloseTo(
                expected[ti]![di]!,
                5,
              );
          }
        }
      }
      constants.dispose();
    },
  );
});
