import { describe, expect, it } from 'vitest';
import { tf, type Rank, type Tensor3D } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import { causalLmLoss, maskedNll, nextTokenNll, targetLoss, targetNll } from './loss.js';

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

describe('aligned loss (masked LMs)', () => {
  const [b, t, v] = [2, 5, 9];
  const rng = new Rng(7);
  const logitValues = rng.normals(b * t * v, 2);
  const logits = tf.tensor3d(logitValues, [b, t, v]);
  const ids = tf.zeros<Rank.R2>([b, t], 'int32');
  const maskValues = [0, 1, 0, 1, 0, 1, 0, 0, 0, 1];
  const mask = tf.tensor2d(maskValues, [b, t]);
  /** float64 -log softmax(row restricted to `cols`)[target]. */
  const nll = (row: number, cols: number[], target: number) => {
    const xs = cols.map((c) => logitValues[row * v + c]!);
    const max = Math.max(...xs);
    const lse = max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
    return lse - xs[target]!;
  };

  it('scores the label at each masked position over the whole vocabulary (MLM)', async () => {
    const labelValues = [3, 8, 0, 1, 2, 5, 0, 0, 4, 6];
    const labels = tf.tensor2d(labelValues, [b, t], 'int32');
    const all = Array.from({ length: v }, (_, i) => i);
    let sum = 0;
    maskValues.forEach((m, i) => (sum += m ? nll(i, all, labelValues[i]!) : 0));
    const r = targetNll(logits, { ids, mask, labels });
    expect((await r.sum.data())[0]).toBeCloseTo(sum, 4);
    expect((await r.count.data())[0]).toBe(4);
    expect((await targetLoss(logits, { ids, mask, labels }).data())[0]).toBeCloseTo(sum / 4, 5);
  });

  it('over label words, the label is an index into them', async () => {
    const words = [6, 2, 7];
    const labelValues = [0, 2, 0, 1, 0, 0, 0, 0, 0, 2];
    const labels = tf.tensor2d(labelValues, [b, t], 'int32');
    let sum = 0;
    maskValues.forEach((m, i) => (sum += m ? nll(i, words, labelValues[i]!) : 0));
    const r = targetNll(logits, { ids, mask, labels, labelWords: words });
    expect((await r.sum.data())[0]).toBeCloseTo(sum, 4);
  });

  it('matches finite differences of the logits', async () => {
    const words = [6, 2];
    const labels = tf.tensor2d([0, 1, 0, 0, 0, 1, 0, 0, 0, 0], [b, t], 'int32');
    const f = (x: Tensor3D) => targetLoss(x, { ids, mask, labels, labelWords: words });
    const g = (await tf
      .grad((x) => f(x as Tensor3D))(logits)
      .data()) as Float32Array;
    const eps = 1e-2;
    for (const i of [1 * v + 6, 1 * v + 2, 5 * v + 2, 5 * v + 4, 3 * v + 6]) {
      const bump = (d: number) => {
        const values = Float32Array.from(logitValues);
        values[i]! += d;
        return f(tf.tensor3d(values, [b, t, v])).dataSync()[0]!;
      };
      expect(g[i]).toBeCloseTo((bump(eps) - bump(-eps)) / (2 * eps), 3);
    }
  });
});
