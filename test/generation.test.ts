// Incremental decoding with the KV cache must give what recomputing the whole sequence gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { generateTokens } from '../engine/models/generate.js';
import { KVCache } from '../engine/models/layers/kv-cache.js';
import { loadModel } from '../engine/models/load.js';
import { argmax, greedy } from '../engine/models/sampling.js';
import { architectureFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tf.disposeVariables());

/** Logits [T, V] of a whole sequence, recomputed from scratch. */
async function fullLogits(model: CausalLM, ids: number[]): Promise<Float32Array> {
  const out = tf.tidy(() => forwardLogits(model, tf.tensor2d(ids, [1, ids.length], 'int32')));
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

describe.each(architectureFixtures)('%s', (name) => {
  it('cached decoding matches full recomputation, step by step', async () => {
    const model = await loadModel(fixturePath(name));
    const vocab = model.config.vocabSize;
    // 10 prompt tokens then 30 single steps: long enough to cross Mistral's 16-token window.
    const sequence = tokenIds(40, 11);
    const cache = new KVCache(model.config.layers, sequence.length);
    const reference = await fullLogits(model, sequence);
    const steps: number[][] = [sequence.slice(0, 10), ...sequence.slice(10).map((id) => [id])];
    let position = 0;
    for (const chunk of steps) {
      const out = tf.tidy(() =>
        forwardLogits(model, tf.tensor2d(chunk, [1, chunk.length], 'int32'), cache),
      );
      const cached = (await out.data()) as Float32Array;
      out.dispose();
      const expected = reference.subarray(position * vocab, (position + chunk.length) * vocab);
      expect(
        relativeError(cached, expected),
        `positions ${position}..${position + chunk.length}`,
      ).toBeLessThan(1e-5);
      position += chunk.length;
    }
    expect(cache.length).toBe(sequence.length);
    cache.dispose();
    model.params.dispose();
    model.dispose();
  });

  it('greedy generation equals a greedy loop without a cache', async () => {
    const before = tf.memory().numTensors;
    const model = await loadModel(fixturePath(name));
    const vocab = model.config.vocabSize;
    const prompt = tokenIds(6, 5);
    const { ids } = await generateTokens(model, prompt, {
      ...greedy,
      maxNewTokens: 12,
      stopTokenIds: [],
      seed: 0,
    });
    const expected: number[] = [];
    const running = [...prompt];
    for (let i = 0; i < 12; i++) {
      const logits = await fullLogits(model, running);
      const next = argmax(logits.subarray((running.length - 1) * vocab));
      expected.push(next);
      running.push(next);
    }
    expect(ids).toEqual(expected);
    model.params.dispose();
    model.dispose();
    // The KV cache and every step's tensors were freed: only the model held anything.
    expect(tf.memory().numTensors).toBe(before);
  });
});
