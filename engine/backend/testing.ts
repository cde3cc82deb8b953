// Test support shared by the backend tests: run op cases on two backends and compare, and check
// the memory tracker against tfjs's own accounting.
import { memory } from './memory.js';
import { drawInputs, relativeError, runCase, type CaseResult, type OpCase } from './op-cases.js';
import { tf } from './tf.js';

/** Run `fn` with `backend` current, then switch back to the backend that was current before. */
export async function onBackend<T>(backend: string, fn: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return await fn();
  } finally {
    await tf.setBackend(previous);
  }
}

/** The largest relative error between two runs of a case, over its output and every gradient. */
export function caseError(a: CaseResult, b: CaseResult): number {
  return Math.max(
    relativeError(a.y, b.y),
    ...a.grads.map((g, i) => {
      const other = b.grads[i];
      if (other === undefined) {
        throw new Error(
          `caseError: the runs have ${a.grads.length} and ${b.grads.length} gradients.`,
        );
      }
      return relativeError(g, other);
    }),
  );
}

/** The case on the current backend against the same case on cpu, with the same inputs. */
export async function errorAgainstCpu(c: OpCase, seed = 11): Promise<number> {
  const values = drawInputs(c, seed);
  const reference = await onBackend('cpu', () => runCase(c, values));
  return caseError(await runCase(c, values), reference);
}

/** Kernel names a case runs, forward and backward, on the current backend. */
export async function kernelsOf(c: OpCase): Promise<string[]> {
  const info = await tf.profile(async () => {
    await runCase(c, drawInputs(c, 1));
  });
  return info.kernelNames;
}

/**
 * A small matmul + softmax + reduction measured twice: by the memory tracker and by tf.profile.
 * Returns both figures and the live bytes seen both ways afterwards.
 */
export async function memoryFigures(): Promise<{
  peak: number;
  profiledPeak: number;
  live: number;
  numBytes: number;
}> {
  const x = tf.randomNormal([32, 64], 0, 1, 'float32', 5);
  memory.resetPeak();
  const info = await tf.profile(() =>
    tf.tidy(() => {
      const scores = tf.matMul(x, x, false, true); // [32, 32]
      const probs = tf.softmax(tf.mul(scores, 0.125));
      return tf.sum(tf.matMul(probs, x), 1); // [32]
    }),
  );
  const peak = memory.peakBytes;
  const figures = {
    peak,
    profiledPeak: info.peakBytes,
    live: memory.liveBytes,
    numBytes: tf.memory().numBytes,
  };
  tf.dispose([x, info.result]);
  return figures;
}

/** Shape, dtype and values of a fresh tensor made by `make` on `backend`. */
export async function valuesOn(
  backend: string,
  make: () => tf.Tensor,
): Promise<{ shape: number[]; dtype: string; values: number[] }> {
  return onBackend(backend, async () => {
    const t = make();
    const result = { shape: t.shape, dtype: t.dtype, values: Array.from(await t.data()) };
    t.dispose();
    return result;
  });
}

/** `make` gives the same shape, dtype and values on `backend` as on cpu; `label` names the case. */
export async function expectSame(
  backend: string,
  label: string,
  make: () => tf.Tensor,
): Promise<void> {
  const [got, want] = [await valuesOn(backend, make), await valuesOn('cpu', make)];
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(
      `${label}: ${backend} gave ${JSON.stringify(got)}, cpu ${JSON.stringify(want)}`,
    );
  }
}

/** Integer and boolean data paths (token ids, masks) that float op cases do not reach. */
const intCaseBodies: { name: string; f: (x: tf.Tensor) => tf.Tensor }[] = [
  { name: 'slice', f: (x) => tf.slice(x, [1, 1], [2, 2]) },
  { name: 'concat', f: (x) => tf.concat([x, x], 1) },
  { name: 'transpose', f: (x) => tf.transpose(x) },
  { name: 'gather', f: (x) => tf.gather(x, tf.tensor1d([2, 0, 2], 'int32')) },
  { name: 'strided slice', f: (x) => tf.stridedSlice(x, [2, 3], [0, 0], [-1, -2]) },
  { name: 'tile', f: (x) => tf.tile(x, [2, 1]) },
  {
    name: 'pad',
    f: (x) =>
      tf.pad(
        x,
        [
          [1, 0],
          [0, 2],
        ],
        7,
      ),
  },
  { name: 'reverse', f: (x) => tf.reverse(x, 1) },
  { name: 'stack', f: (x) => tf.stack([x, x], 1) },
  { name: 'unstack', f: (x) => tf.unstack(x, 1)[2]! },
  { name: 'split', f: (x) => tf.split(x, 2, 1)[1]! },
  { name: 'cumsum', f: (x) => tf.cumsum(x, 1) },
  { name: 'arithmetic', f: (x) => tf.sub(tf.mul(x, x), tf.add(x, 3)) },
  {
    name: 'floorDiv and mod',
    f: (x) => tf.add(tf.floorDiv(x, tf.scalar(2, 'int32')), tf.mod(x, tf.scalar(3, 'int32'))),
  },
  { name: 'max, min, sum', f: (x) => tf.stack([tf.max(x, 1), tf.min(x, 1), tf.sum(x, 1)]) },
  { name: 'where', f: (x) => tf.where(tf.greater(x, 0), x, tf.neg(x)) },
  {
    name: 'comparisons and logic',
    f: (x) => tf.logicalOr(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 5)), tf.equal(x, -5)),
  },
  { name: 'cast to float32', f: (x) => tf.cast(x, 'float32') },
  { name: 'cast to bool', f: (x) => tf.cast(x, 'bool') },
  { name: 'cast float32 to bool', f: (x) => tf.cast(tf.div(tf.cast(x, 'float32'), 4), 'bool') },
  { name: 'cast bool to int32', f: (x) => tf.cast(tf.greater(x, 1), 'int32') },
  { name: 'oneHot', f: (x) => tf.oneHot(tf.abs(tf.reshape(x, [-1])), 10) },
  { name: 'argMax', f: (x) => tf.argMax(x, 1) },
  {
    name: 'bool gather, slice, concat, tile',
    f: (x) => {
      const b = tf.greater(x, 0);
      return tf.concat(
        [tf.gather(b, tf.tensor1d([2, 0], 'int32')), tf.slice(tf.tile(b, [2, 1]), [2, 0], [2, 4])],
        0,
      );
    },
  },
  {
    name: 'bool strided slice',
    f: (x) => tf.stridedSlice(tf.greater(x, 0), [0, 0], [3, 4], [2, 2]),
  },
];

/** The int cases on a fixed int32 input [3, 4]. */
export const intCases = intCaseBodies.map(({ name, f }) => ({
  name,
  run: () =>
    tf.tidy(() => f(tf.tensor2d([3, -1, 4, 1, -5, 9, 2, -6, 5, 3, 5, 8], [3, 4], 'int32'))),
}));
