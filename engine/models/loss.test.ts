import { describe, expect, it } from 'vitest';
import { tf, type Rank, type Tensor3D } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import { batchLoss, batchNll, causalLmLoss, maskedNll, nextTokenNll, positionNll } from './loss.js';

/** Naive float64 NLL of token t+1 from logits at t. */
function naiveNll(logits: Float32Array, ids: number[], b: number, t: number, v: number): number[] {
  const out: number[] = [];
  for (let row = 0; row < b; row++) {
    for (let pos = 0; pos < t - 1; pos++) {
      const base = (row * t + pos) * v;
      let max = -Infinity;
      for (let j = 0; j < v; j++) max = Math.max(max, logits[base + j]!);
      let sum = 0;
      for (let j = 0; j < v; j++) sum += Math.exp(logits[base + j]! - max);
      out.push(max + Math.log(sum) - logits[base + ids[row * t + pos + 1]!]!);
    }
  }
  return out;
}

describe('causal LM loss', () => {
  const [b, t, v] = [3, 7, 11];
  const rng = new Rng(3);
  const logitValues = rng.normals(b * t * v, 3);
  const idValues = Array.from({ length: b * t }, () => Math.floor(rng.uniform() * v));
  const logits = tf.tensor3d(logitValues, [b, t, v]);
  const ids = tf.tensor2d(idValues, [b, t], 'int32');
  const reference = naiveNll(logitValues, idValues, b, t, v);

  it('next-token NLL matches a direct computation', async () => {
    const nll = (await nextTokenNll(logits, ids).data()) as Float32Array;
    reference.forEach((value, i) => expect(nll[i]).toBeCloseTo(value, 4));
  });

  it('the mask selects which targets count', async () => {
    const maskValues = Array.from({ length: b * t }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const mask = tf.tensor2d(maskValues, [b, t]);
    let sum = 0;
    let count = 0;
    for (let row = 0; row < b; row++) {
      for (let pos = 1; pos < t; pos++) {
        if (maskValues[row * t + pos] === 0) continue;
        sum += reference[row * (t - 1) + pos - 1]!;
        count++;
      }
    }
    const masked = maskedNll(logits, ids, mask);
    expect((await masked.sum.data())[0]).toBeCloseTo(sum, 3);
    expect((await masked.count.data())[0]).toBe(count);
    expect((await causalLmLoss(logits, ids, mask).data())[0]).toBeCloseTo(sum / count, 5);
  });

  it('an all-zero mask gives zero loss, not NaN', async () => {
    const zero = tf.zeros<Rank.R2>([b, t]);
    expect((await causalLmLoss(logits, ids, zero).data())[0]).toBe(0);
  });

  it('the gradient with respect to the logits is softmax minus one-hot over the targets', async () => {
    const g = tf.grad((x) => causalLmLoss(x as Tensor3D, ids))(logits);
    const values = (await g.data()) as Float32Array;
    const n = b * (t - 1);
    const row = 1;
    const pos = 2;
    const base = (row * t + pos) * v;
    let max = -Infinity;
    for (let j = 0; j < v; j++) max = Math.max(max, logitValues[base + j]!);
    let z = 0;
    for (let j = 0; j < v; j++) z += Math.exp(logitValues[base + j]! - max);
    for (let j = 0; j < v; j++) {
      const softmax = Math.exp(logitValues[base + j]! - max) / z;
      const expected = (softmax - (j === idValues[row * t + pos + 1] ? 1 : 0)) / n;
      expect(values[base + j]).toBeCloseTo(expected, 6);
    }
    // The last position predicts nothing: its gradient is zero.
    for (let j = 0; j < v; j++) expect(values[(row * t + t - 1) * v + j]).toBe(0);
  });
});

/** Naive float64 -log softmax(row over `columns`)[target]. */
function naiveRowNll(row: ArrayLike<number>, columns: number[], target: number): number {
  const xs = columns.map((c) => row[c]!);
  const max = Math.max(...xs);
  const z = xs.reduce((acc, x) => acc + Math.exp(x - max), 0);
  return max + Math.log(z) - xs[target]!;
}

describe('masked LM loss', () => {
  const [b, t, v] = [2, 5, 9];
  const rng = new Rng(5);
  const logitValues = rng.normals(b * t * v, 2);
  const logits = tf.tensor3d(logitValues, [b, t, v]);
  const labelValues = Array.from({ length: b * t }, () => Math.floor(rng.uniform() * v));
  const labels = tf.tensor2d(labelValues, [b, t], 'int32');
  const row = (i: number) => logitValues.subarray(i * v, (i + 1) * v);
  const all = Array.from({ length: v }, (_, j) => j);

  it('scores each position against its own label, with no shift', async () => {
    const nll = (await positionNll(logits, labels).data()) as Float32Array;
    for (let i = 0; i < b * t; i++)
      expect(nll[i]).toBeCloseTo(naiveRowNll(row(i), all, labelValues[i]!), 4);
  });

  it('only marked positions count; the mean is over them', async () => {
    const maskValues = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0];
    const batch = { ids: labels, mask: tf.tensor2d(maskValues, [b, t]), labels };
    let sum = 0;
    for (let i = 0; i < b * t; i++)
      if (maskValues[i]) sum += naiveRowNll(row(i), all, labelValues[i]!);
    const { sum: s, count } = batchNll(logits, batch, 'masked');
    expect((await s.data())[0]).toBeCloseTo(sum, 3);
    expect((await count.data())[0]).toBe(3);
    expect((await batchLoss(logits, batch, 'masked').data())[0]).toBeCloseTo(sum / 3, 4);
  });

  it('with label words, the softmax runs over them only and labels index them', async () => {
    const words = [7, 2, 4];
    // Position 3 of row 0 is the mask; its label is word 2 (id 4). Elsewhere labels are ids
    // outside 0..2 and must not matter.
    const maskValues = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    const wordLabels = labelValues.map((id, i) => (i === 3 ? 2 : id));
    const batch = {
      ids: labels,
      mask: tf.tensor2d(maskValues, [b, t]),
      labels: tf.tensor2d(wordLabels, [b, t], 'int32'),
      labelWords: tf.tensor1d(words, 'int32'),
    };
    const loss = (await batchLoss(logits, batch, 'masked').data())[0]!;
    expect(loss).toBeCloseTo(naiveRowNll(row(3), words, 2), 4);
    expect(Number.isFinite(loss)).toBe(true);
  });

  it('a masked LM refuses a batch without labels, a causal LM one with them', () => {
    const mask = tf.ones<Rank.R2>([b, t]);
    expect(() => batchNll(logits, { ids: labels, mask }, 'masked')).toThrow(/masked positions/);
    expect(() => batchNll(logits, { ids: labels, mask, labels }, 'causal')).toThrow(/next tokens/);
  });
});
