// Forward-Grad on prefix and prompt tuning: the JVP through the virtual tokens (joined to the
// inputs or to every layer's keys and values) equals backprop's gradient · v.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { forwardLogits } from '../engine/models/causal-lm.js';
import { causalLmLoss } from '../engine/models/loss.js';
import { lossAndJvp } from '../engine/optim/forward-grad.js';
import type { Batch } from '../engine/optim/method.js';
import { batchesLoss } from '../engine/optim/zo.js';
import { trainableTensors } from '../engine/optim/zo-params.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { toBatch } from '../engine/train/text-data.js';
import { fillNormals } from '../engine/util/counter-rng.js';
import { fixturePath } from './fixtures.js';
import { tokenIds } from './numerics.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});
afterAll(() => tf.disposeVariables());

const batch = (): Batch => toBatch([tokenIds(12, 5), tokenIds(10, 6)], 12, 0);

describe('Forward-Grad through virtual tokens', () => {
  for (const kind of ['prefix', 'prompt'] as const) {
    it.each(['llama', 'gpt2', 'opt'])(`${kind} on %s: JVP = backprop · v`, async (arch) => {
      const pm = await loadPeftModel(fixturePath(arch), peftSpec(kind, { seed: 2 }));
      const { model } = pm;
      const b = batch();
      await batchesLoss(model, [b]); // builds the model's cached constants (masks, rotary)
      const tensors = trainableTensors(model.params);
      const before = tf.memory().numTensors;
      const { jvp } = await lossAndJvp(model, tensors, [b], 23);
      expect(tf.memory().numTensors).toBe(before); // no tangent outlives the pass
      const { grads } = tf.variableGrads(
        () => causalLmLoss(forwardLogits(model, b.ids), b.ids, b.mask),
        tensors.map((t) => t.variable),
      );
      let dot = 0;
      for (const t of tensors) {
        const g = (await grads[t.variable.name]!.data()) as Float32Array;
        const v = fillNormals(new Float32Array(t.variable.size), 23, t.stream);
        for (let i = 0; i < g.length; i++) dot += g[i]! * v[i]!;
      }
      tf.dispose(Object.values(grads));
      expect(Math.abs(dot)).toBeGreaterThan(1e-3);
      expect(Math.abs(jvp - dot) / Math.abs(dot)).toBeLessThan(1e-4);
      tf.dispose([b.ids, b.mask]);
      model.params.dispose();
      model.dispose();
    });
  }
});
