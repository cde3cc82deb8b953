// Continuation scores equal log-softmax read straight off the full-sequence logits, and padding
// one candidate to another's length changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import type { CausalLM } from '../engine/models/causal-lm.js';
import { forwardLogits } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { scoreContinuations } from '../engine/models/log-likelihood.js';
import { fixturePath } from './fixtures.js';

let model: CausalLM;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = await loadModel(fixturePath('llama'));
});
afterAll(() => {
  model.params.dispose();
  model.dispose();
});

/** log p(seq[i] | seq[:i]) for i >= from, computed in float64 from one forward pass. */
async function directLogProbs(seq: number[], from: number): Promise<number[]> {
  const logits = forwardLogits(model, tf.tensor2d([seq], [1, seq.length], 'int32'));
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  const v = model.config.vocabSize;
  const out: number[] = [];
  for (let i = from; i < seq.length; i++) {
    const row = values.subarray((i - 1) * v, i * v);
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    out.push(row[seq[i]!]! - logZ);
  }
  return out;
}

describe('continuation log-likelihood', () => {
  it('matches log-softmax of the full sequence, for candidates of different lengths', async () => {
    const context = [1, 40, 41, 42];
    const candidates = [[50, 51, 52, 53, 54], [60], [70, 71]];
    const scores = await scoreContinuations(model, context, candidates);
    for (const [i, c] of candidates.entries()) {
      const expected = await directLogProbs([...context, ...c], context.length);
      expect(scores[i]!.tokenLogProbs).toHaveLength(c.length);
      for (const [j, lp] of scores[i]!.tokenLogProbs.entries())
        expect(lp).toBeCloseTo(expected[j]!, 4);
      expect(scores[i]!.mean).toBeCloseTo(scores[i]!.sum / c.length, 6);
      expect(scores[i]!.sum).toBeLessThan(0);
    }
  });

  it('refuses inputs that cannot be scored', async () => {
    await expect(scoreContinuations(model, [], [[1]])).rejects.toThrow(/at least one token/);
    await expect(scoreContinuations(model, [1], [[]])).rejects.toThrow(/empty/);
    const long = Array.from({ length: model.config.contextLength }, () => 5);
    await expect(scoreContinuations(model, [1], [long])).rejects.toThrow(/context is/);
  });
});
