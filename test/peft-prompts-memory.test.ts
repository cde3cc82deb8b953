// Prefix and prompt tuning memory on the 27M-parameter Llama of the memory tests: `whetstone
// estimate`'s formula within 10% of the measured peak for the methods that train them.
import { describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { createMethod } from '../engine/optim/create-method.js';
import type { MethodName } from '../engine/optim/method.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import type { PromptKind } from '../engine/peft/prompts.js';
import { toBatch } from '../engine/train/text-data.js';
import { estimateOf, memoryModel, memoryRows } from './memory-model.js';

const B = 4;
const T = 32;
const fixture = memoryModel('prompts-memory');

const rows = () => memoryRows(B, T);

async function measure(kind: PromptKind, method: MethodName) {
  const pm = await loadPeftModel(fixture.path, peftSpec(kind));
  const trainer = createMethod(pm.model, { method });
  const batch = toBatch(rows(), T, 0);
  memory.resetPeak();
  await trainer.step([batch], 1e-4);
  const peak = memory.peakBytes;
  const weights = pm.model.params.bytes();
  batch.ids.dispose();
  batch.mask.dispose();
  trainer.dispose();
  pm.model.params.dispose();
  pm.model.dispose();
  return { peak, weights };
}

const estimate = (kind: PromptKind, method: MethodName) =>
  estimateOf(fixture.path, { method, batch: B, seq: T, peft: kind });

describe('prefix and prompt tuning memory on a 27M-parameter model', () => {
  it.each([
    ['prefix', 'fo-adamw'],
    ['prompt', 'fo-adamw'],
    ['prefix', 'fo-sgd'],
    ['prompt', 'fo-sgd'],
    ['prefix', 'zo-sgd'],
    ['prompt', 'zo-sgd'],
    ['prompt', 'zo-adam'],
    ['prefix', 'forward-grad'],
    ['prompt', 'forward-grad'],
  ] as const)(
    '%s with %s: the estimate is within a tenth of the measured peak',
    async (kind, method) => {
      const { peak, weights } = await measure(kind, method);
      const e = await estimate(kind, method);
      expect(e.weightBytes).toBe(weights);
      expect(e.peakBytes / peak, `estimate ${e.peakBytes} vs measured ${peak}`).toBeGreaterThan(
        0.9,
      );
      expect(e.peakBytes / peak).toBeLessThan(1.1);
    },
  );
});
