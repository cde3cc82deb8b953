// Every adapter kind starts from the same weights for the same run seed, seed 0 (the default)
// included, and from other weights for another seed: replay and resume rebuild the start from it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import type { PeftKind } from '../engine/peft/config.js';
import { fixturePath } from './fixtures.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tf.disposeVariables());

async function initialAdapter(kind: PeftKind, seed: number): Promise<Map<string, number[]>> {
  const pm = await loadPeftModel(fixturePath('llama'), peftSpec(kind, { seed }));
  const trainable = new Map<string, number[]>();
  for (const [name, v] of pm.model.params.entries()) {
    if (v.trainable) trainable.set(name, Array.from(await v.data()));
  }
  pm.model.params.dispose();
  pm.model.dispose();
  return trainable;
}

describe('adapter initialisation', () => {
  for (const kind of ['lora', 'qlora', 'adalora', 'prefix', 'prompt'] as const) {
    it(`${kind}: reproducible for seed 0 and 3, different between them`, async () => {
      const zero = await initialAdapter(kind, 0);
      expect(zero.size).toBeGreaterThan(0);
      expect(await initialAdapter(kind, 0)).toEqual(zero);
      const three = await initialAdapter(kind, 3);
      expect(await initialAdapter(kind, 3)).toEqual(three);
      expect(three).not.toEqual(zero);
    });
  }
});
