// Gradients of the training loss, checked against central finite differences on the cpu
// backend (the reference), for every architecture: the causal-LM loss for decoders, the
// masked-LM loss (on a padded batch) for encoders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Scalar } from '../engine/backend/tf.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { batchLoss, causalLmLoss } from '../engine/models/loss.js';
import { mlmBatch } from '../engine/train/mlm-masking.js';
import { Rng } from '../engine/util/rng.js';
import { architectureFixtures, encoderFixtures, fixturePath } from './fixtures.js';
import { tokenIds } from './numerics.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tf.disposeVariables());

/** The largest-gradient coordinate of every tensor, perturbed alone both ways. */
async function checkGradients(model: CausalLM, loss: () => Scalar): Promise<void> {
  const lossValue = async () => {
    const l = loss();
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  };
  model.params.setTrainable();
  const entries = [...model.params.entries()];
  const { grads } = tf.variableGrads(
    loss,
    entries.map(([, v]) => v),
  );
  let checked = 0;
  for (const [paramName, variable] of entries) {
    const g = (await grads[variable.name]!.data()) as Float32Array;
    let index = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[index]!)) index = i;
    if (Math.abs(g[index]!) < 1e-4) continue; // too flat for a float32 difference quotient
    const original = (await variable.data()) as Float32Array;
    const eps = 1e-2 * Math.max(1, Math.abs(original[index]!));
    const at = async (delta: number) => {
      const values = original.slice();
      values[index] = original[index]! + delta;
      variable.assign(tf.tensor(values, variable.shape));
      return lossValue();
    };
    const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    variable.assign(tf.tensor(original, variable.shape));
    expect(
      Math.abs(fd - g[index]!),
      `${paramName}[${index}]: fd ${fd} vs grad ${g[index]}`,
    ).toBeLessThan(2e-2 * Math.abs(g[index]!) + 2e-5);
    checked++;
  }
  expect(checked).toBeGreaterThan(entries.length / 2);
  Object.values(grads).forEach((t) => t.dispose());
  model.params.dispose();
  model.dispose();
}

describe.each(architectureFixtures)('%s', (name) => {
  it('loss gradients match central finite differences', async () => {
    const model = await loadModel(fixturePath(name));
    const ids = tf.tensor2d(tokenIds(2 * 24, 7), [2, 24], 'int32');
    // The mask drops the first half of the second row: masked targets must not contribute.
    const maskValues = new Float32Array(48).fill(1).fill(0, 24, 36);
    const mask = tf.tensor2d(maskValues, [2, 24]);
    await checkGradients(model, () => causalLmLoss(forwardLogits(model, ids), ids, mask));
  });
});

describe.each(encoderFixtures)('%s', (name) => {
  it('masked-LM loss gradients match central finite differences on a padded batch', async () => {
    const model = await loadModel(fixturePath(name));
    // The second row is shorter: its padding must neither be attended nor scored.
    const rows = [tokenIds(24, 7), tokenIds(15, 8)];
    const masking = { maskTokenId: 4, vocabSize: 512, specialIds: new Set<number>(), rate: 0.3 };
    const batch = mlmBatch(rows, 24, model.config.padTokenId!, masking, new Rng(3));
    expect(batch.targets).toBeGreaterThan(4);
    await checkGradients(model, () =>
      batchLoss(forwardLogits(model, batch.ids), batch, model.objective),
    );
  });
});
