// The native backend against the cpu reference: every op case forward and backward, each native
// kernel on shapes that take its fast path and on ones that fall back, and memory accounting.
// Its own file, so its own process (tfjs backends are global).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { opCases } from '../op-cases.js';
import { initBackend, releaseBackend, type BackendReport } from '../select.js';
import { adamStep } from '../adam-step.js';
import { axpby, sumOfSquares } from '../fused.js';
import { noiseAxpy, normalNoise } from '../noise.js';
import { errorAgainstCpu, memoryFigures, onBackend } from '../testing.js';
import { tf } from '../tf.js';
import { nativeAvailability } from './availability.js';

// Recycle every buffer, however small, so the pool is exercised by every case below.
process.env.WHETSTONE_NATIVE_POOL_MIN_BYTES = '0';
const { available, note } = nativeAvailability();
let report: BackendReport;

beforeAll(async () => {
  if (available) report = await initBackend({ backend: 'native' });
});
afterAll(() => releaseBackend());

/** Largest |native − cpu| of `make`'s output, the inputs drawn from a seeded Rng on each side. */
async function maxDiff(make: () => tf.Tensor): Promise<number> {
  const values = async () => {
    const t = make();
    const v = await t.data();
    t.dispose();
    return v;
  };
  const got = await values();
  const want = await onBackend('cpu', values);
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    if (Object.is(got[i], want[i])) continue;
    const d = Math.abs(Number(got[i]) - Number(want[i]));
    worst = Number.isNaN(d)
      ? Number.isNaN(got[i]) && Number.isNaN(want[i])
        ? worst
        : Infinity
      : Math.max(worst, d);
  }
  return worst;
}

const normals = (seed: number, shape: number[]) =>
  tf.tensor(new Rng(seed).normals(shape.reduce((a, b) => a * b, 1)), shape);

describe.skipIf(!available)(`native backend ${note}`, () => {
  it('reports the BLAS and threads it runs on', () => {
    expect(report).toMatchObject({ backend: 'native', gpu: false, software: false });
    expect(report.device).toMatch(/^CPU \(native, .+, \d+ threads?\)$/);
  });

  it.each(opCases.map((c) => [c.name, c] as const))(
    '%s matches cpu forward and backward',
    async (_name, c) => {
      expect(await errorAgainstCpu(c)).toBeLessThan(1e-5);
    },
  );

  it.each([
    ['plain', [33, 17], [17, 9], false, false],
    ['transposed a', [17, 33], [17, 9], true, false],
    ['transposed b', [33, 17], [9, 17], false, true],
    ['both transposed', [17, 33], [9, 17], true, true],
    ['batched', [3, 33, 17], [3, 17, 9], false, false],
    ['batch broadcast', [4, 33, 17], [17, 9], false, false],
    ['batch broadcast left', [33, 17], [4, 17, 9], false, true],
    ['odd batches (cpu fallback)', [2, 3, 5, 4], [3, 4, 6], false, false],
  ] as const)('matMul %s matches cpu', async (_name, sa, sb, ta, tb) => {
    const bShape = tb && sb.length === 3 ? [sb[0], sb[2], sb[1]] : [...sb];
    expect(
      await maxDiff(() => tf.matMul(normals(1, [...sa]), normals(2, bShape), ta, tb)),
    ).toBeLessThan(1e-4);
  });

  it.each([
    ['same shape', [5, 7], [5, 7]],
    ['row broadcast', [6, 8, 16], [16]],
    ['column broadcast', [6, 8, 16], [6, 8, 1]],
    ['scalar', [1000], [1]],
    ['both broadcast', [4, 1, 9], [1, 5, 1]],
    ['large', [300, 400], [300, 400]],
  ])('binary ops with %s match cpu', async (_name, sa, sb) => {
    for (const op of [
      tf.add,
      tf.sub,
      tf.mul,
      tf.div,
      tf.maximum,
      tf.minimum,
      tf.squaredDifference,
    ]) {
      expect(await maxDiff(() => op(normals(3, sa), normals(4, sb))), op.name).toBe(0);
    }
  });

  it('unary ops match cpu, NaN and infinities included', async () => {
    const x = () => tf.concat([normals(5, [5000]), tf.tensor([NaN, Infinity, -Infinity, 0, -0])]);
    const pos = () => tf.abs(x());
    for (const op of [
      tf.exp,
      tf.neg,
      tf.abs,
      tf.square,
      tf.sigmoid,
      tf.tanh,
      tf.relu,
      tf.sin,
      tf.cos,
      tf.sign,
      tf.relu6,
      tf.reciprocal,
    ]) {
      expect(await maxDiff(() => op(x())), op.name).toBeLessThan(1e-6);
    }
    for (const op of [tf.log, tf.sqrt, tf.rsqrt, tf.log1p]) {
      expect(await maxDiff(() => op(pos())), op.name).toBeLessThan(1e-6);
    }
    expect(await maxDiff(() => tf.step(x(), 0.25))).toBe(0);
  });

  it.each([
    [[6, 7, 8], 2],
    [[6, 7, 8], 0],
    [
      [6, 7, 8],
      [0, 1],
    ],
    [
      [6, 7, 8],
      [1, 2],
    ],
    [[6, 7, 8], 1],
    [
      [6, 7, 8],
      [0, 2],
    ],
    [[100000], 0],
  ] as const)('reductions of %j over %j match cpu', async (shape, axis) => {
    const ax = typeof axis === 'number' ? axis : [...axis];
    for (const keep of [false, true]) {
      expect(await maxDiff(() => tf.sum(normals(6, [...shape]), ax, keep))).toBeLessThan(1e-3);
      expect(await maxDiff(() => tf.mean(normals(6, [...shape]), ax, keep))).toBeLessThan(1e-5);
      expect(await maxDiff(() => tf.max(normals(6, [...shape]), ax, keep))).toBe(0);
      expect(await maxDiff(() => tf.min(normals(6, [...shape]), ax, keep))).toBe(0);
    }
  });

  it('softmax and log-softmax over a wide last axis match cpu', async () => {
    expect(await maxDiff(() => tf.softmax(tf.mul(normals(7, [4, 30000]), 5)))).toBeLessThan(1e-7);
    expect(await maxDiff(() => tf.logSoftmax(tf.mul(normals(7, [4, 3000]), 5)))).toBeLessThan(1e-4);
  });

  it('transpose, slice, pad and gather move float32 and int32 alike', async () => {
    const ints = () =>
      tf.tensor(
        Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i),
        [2, 3, 4, 5],
        'int32',
      );
    for (const perm of [
      [0, 2, 1, 3],
      [3, 2, 1, 0],
      [1, 0, 2, 3],
      [0, 1, 3, 2],
    ]) {
      expect(await maxDiff(() => tf.transpose(normals(8, [2, 3, 4, 5]), perm))).toBe(0);
      expect(await maxDiff(() => tf.transpose(ints(), perm))).toBe(0);
    }
    expect(await maxDiff(() => tf.slice(normals(9, [4, 6, 8]), [1, 2, 3], [2, 3, 4]))).toBe(0);
    expect(await maxDiff(() => tf.slice(ints(), [0, 1, 0, 2], [2, -1, 4, 3]))).toBe(0);
    expect(await maxDiff(() => tf.slice(normals(9, [4, 6, 8]), [0, 0, 4], [4, 6, 4]))).toBe(0);
    expect(
      await maxDiff(() =>
        tf.pad(
          normals(9, [3, 4, 5]),
          [
            [1, 0],
            [0, 2],
            [3, 1],
          ],
          0.5,
        ),
      ),
    ).toBe(0);
    expect(
      await maxDiff(() =>
        tf.pad(ints(), [
          [0, 0],
          [1, 1],
          [0, 0],
          [2, 0],
        ]),
      ),
    ).toBe(0);
    const ids = () => tf.tensor([3, 0, 3, 1], [2, 2], 'int32');
    expect(await maxDiff(() => tf.gather(normals(10, [5, 6]), ids()))).toBe(0);
    expect(await maxDiff(() => tf.gather(normals(10, [4, 5, 6]), ids(), 1))).toBe(0);
    expect(await maxDiff(() => tf.gather(ints(), ids(), 2))).toBe(0);
  });

  it('NoiseAxpy gives the reference noise bit for bit, threaded over an odd length', async () => {
    for (const transform of ['none', 'sign', 'square'] as const) {
      const opts = { seed: 7, stream: 123456789, transform };
      expect(await maxDiff(() => noiseAxpy(normals(11, [100_001]), 0.75, -1e-3, opts))).toBe(0);
      expect(await maxDiff(() => normalNoise([3, 33_333], opts))).toBe(0);
    }
  });

  it('AdamStep gives the cpu kernel bit for bit', async () => {
    const attrs = { decay: 0.999, scale: 1e-3, vScale: 1.7, eps: 1e-8 };
    expect(
      await maxDiff(() =>
        adamStep(
          normals(12, [70_000]),
          normals(13, [70_000]),
          tf.abs(normals(14, [70_000])),
          attrs,
        ),
      ),
    ).toBe(0);
  });

  it('axpby gives the stock ops bit for bit; the sum of squares agrees to float32', async () => {
    for (const a of [1, 0.999]) {
      expect(
        await maxDiff(() => axpby(normals(15, [70_001]), a, normals(16, [70_001]), -3e-3)),
      ).toBe(0);
    }
    const x = () => normals(17, [300, 700]);
    const [got, want] = [
      await sumOfSquares(x()).data(),
      await onBackend('cpu', () => sumOfSquares(x()).data()),
    ];
    expect(Math.abs(got[0]! - want[0]!)).toBeLessThan(1e-6 * want[0]!);
  });

  it('a bad index is an error, never a read outside the tensor', () => {
    const table = tf.ones([4, 3]);
    expect(() => tf.gather(table, tf.tensor([1, 4], [2], 'int32'))).toThrow(/index value 4/);
    expect(() =>
      tf.unsortedSegmentSum(tf.ones([2, 3]), tf.tensor([0, 9], [2], 'int32'), 4),
    ).toThrow(/segment id 9/);
  });

  it('the gradient of an embedding lookup (gather) matches cpu', async () => {
    const rng = new Rng(5);
    const table = rng.normals(50 * 8);
    const ids = Array.from({ length: 2 * 24 }, () => Math.floor(rng.uniform() * 50));
    const upstream = rng.normals(2 * 24 * 8);
    const grad = () =>
      tf.tidy(() =>
        tf.grad((w: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.gather(w, tf.tensor2d(ids, [2, 24], 'int32')),
              tf.tensor(upstream, [2, 24, 8]),
            ),
          ),
        )(tf.tensor2d(table, [50, 8])),
      );
    expect(await maxDiff(grad)).toBeLessThan(1e-5);
  });

  it('memory accounting matches tfjs', async () => {
    const { peak, profiledPeak, live, numBytes } = await memoryFigures();
    expect(live).toBe(numBytes);
    expect(peak).toBeLessThanOrEqual(profiledPeak);
    expect(peak).toBeGreaterThan(profiledPeak / 2);
  });
});
