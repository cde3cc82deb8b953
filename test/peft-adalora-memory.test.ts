// AdaLoRA memory on the 27M-parameter Llama of the memory tests: `whetstone estimate`'s formula
// (init_r ranks with λ, plus the importance's Ī and Ū) within 10% of the measured peak of a
// step with the allocator's hooks and wrapper in place.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { initBackend } from '../engine/backend/select.js';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { checkModel, type CheckedModel } from '../engine/models/load.js';
import { Params } from '../engine/models/params.js';
import { createMethod } from '../engine/optim/create-method.js';
import type { MethodName } from '../engine/optim/method.js';
import { ADALORA_DEFAULTS, disposeAdaLora } from '../engine/peft/adalora.js';
import { AdaLoraAllocator, withAdaLora } from '../engine/peft/adalora-train.js';
import { selectTargets } from '../engine/peft/config.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { estimateTrainingMemory } from '../engine/train/estimate.js';
import { toBatch } from '../engine/train/text-data.js';
import { memoryModelSpec } from './fixtures.js';

const B = 1;
const T = 16;
const R = ADALORA_DEFAULTS.initR;
let dir: string;
let checked: CheckedModel;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'whetstone-adalora-memory-'));
  await writeFixtureModel({ ...memoryModelSpec, out: join(dir, 'm') });
  checked = await checkModel(join(dir, 'm'));
  await checked.source.close();
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rows = () =>
  Array.from({ length: B }, (_, r) =>
    Array.from({ length: T }, (_, t) => ((r * 131 + t * 7) % 4000) + 4),
  );

async function measure(method: MethodName, checkpointing: boolean) {
  const pm = await loadPeftModel(
    join(dir, 'm'),
    peftSpec('adalora', { targets: ['all-linear'], adalora: { ...ADALORA_DEFAULTS } }),
  );
  const allocator = new AdaLoraAllocator(pm.model.params, pm.adalora!, 10);
  const trainer = withAdaLora(
    createMethod(pm.model, { method, checkpointing, hooks: allocator.hooks() }),
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

function estimate(method: MethodName, checkpointing: boolean) {
  const shell = checked.arch.create(checked.config, new Params());
  const targets = selectTargets(shell.linearSpecs(), ['all-linear']);
  const e = estimateTrainingMemory({
    model: shell,
    shapes: checked.shapes,
    method,
    batch: B,
    seq: T,
    checkpointing,
    peft: { kind: 'adalora', targets, r: R },
  });
  shell.dispose();
  return e;
}

describe('AdaLoRA memory on a 27M-parameter model', () => {
  it.each([
    ['fo-adamw', false],
    ['fo-adamw', true],
    ['lomo', true],
    ['zo-sgd', false],
  ] as const)(
    '%s (checkpointing %s): the estimate is within a tenth of the measured peak',
    async (method, ckpt) => {
      const { peak, weights } = await measure(method, ckpt);
      const e = estimate(method, ckpt);
      expect(e.weightBytes).toBe(weights);
      expect(e.peakBytes / peak, `estimate ${e.peakBytes} vs measured ${peak}`).toBeGreaterThan(
        0.9,
      );
      expect(e.peakBytes / peak).toBeLessThan(1.1);
    },
  );
});
