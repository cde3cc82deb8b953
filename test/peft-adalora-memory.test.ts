// AdaLoRA memory on the 27M-parameter Llama of the memory tests: `whetstone estimate`'s formula
// (init_r ranks with λ, plus the importance's Ī and Ū) within 10% of the measured peak of a
// step with the allocator's hooks and wrapper in place.
import { describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { createMethod } from '../engine/optim/create-method.js';
import type { MethodName } from '../engine/optim/method.js';
import { ADALORA_DEFAULTS, disposeAdaLora } from '../engine/peft/adalora.js';
import { AdaLoraAllocator, withAdaLora } from '../engine/peft/adalora-train.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { toBatch } from '../engine/train/text-data.js';
import { estimateOf, memoryModel, memoryRows } from './memory-model.js';

const B = 1;
const T = 16;
const fixture = memoryModel('adalora-memory');

const rows = () => memoryRows(B, T);

async function measure(method: MethodName, recompute: boolean) {
  const pm = await loadPeftModel(
    fixture.path,
    peftSpec('adalora', { targets: ['all-linear'], adalora: { ...ADALORA_DEFAULTS } }),
  );
  const allocator = new AdaLoraAllocator(pm.model.params, pm.adalora!, 10);
  const trainer = withAdaLora(
    createMethod(pm.model, { method, recompute, hooks: allocator.hooks() }),
    allocator,
  );
  const batch = toBatch(rows(), T, 0);
  memory.resetPeak();
  await trainer.step([batch], 1e-4);
  const peak = memory.peakBytes;
  const weights = pm.model.params.bytes();
  batch.ids.dispose();
  batch.mask.dispose();
  trainer.dispose();
  disposeAdaLora(pm.adalora!);
  pm.model.params.dispose();
  pm.model.dispose();
  return { peak, weights };
}

const estimate = (method: MethodName, recompute: boolean) =>
  estimateOf(fixture.path, {
    method,
    batch: B,
    seq: T,
    recompute,
    peft: 'adalora',
    loraTargets: 'all-linear',
  });

describe('AdaLoRA memory on a 27M-parameter model', () => {
  it.each([
    ['fo-adamw', false],
    ['fo-adamw', true],
    ['lomo', true],
    ['zo-sgd', false],
  ] as const)(
    '%s (recompute %s): the estimate is within a tenth of the measured peak',
    async (method, ckpt) => {
      const { peak, weights } = await measure(method, ckpt);
      const e = await estimate(method, ckpt);
      expect(e.weightBytes).toBe(weights);
      expect(e.peakBytes / peak, `estimate ${e.peakBytes} vs measured ${peak}`).toBeGreaterThan(
        0.9,
      );
      expect(e.peakBytes / peak).toBeLessThan(1.1);
    },
  );
});
