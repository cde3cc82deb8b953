// Prefix and prompt tuning memory on the 27M-parameter Llama of the memory tests: `whetstone
// estimate`'s formula within 10% of the measured peak for the methods that train them.
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
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { embedWidthOf, promptTerms } from '../engine/peft/prompt-estimate.js';
import { VIRTUAL_TOKEN_DEFAULTS, type PromptKind } from '../engine/peft/prompts.js';
import { estimateTrainingMemory } from '../engine/train/estimate.js';
import { toBatch } from '../engine/train/text-data.js';
import { memoryModelSpec } from './fixtures.js';

const B = 4;
const T = 32;
let dir: string;
let checked: CheckedModel;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'whetstone-prompts-memory-'));
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

async function measure(kind: PromptKind, method: MethodName) {
  const pm = await loadPeftModel(join(dir, 'm'), peftSpec(kind));
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

function estimate(kind: PromptKind, method: MethodName) {
  const shell = checked.arch.create(checked.config, new Params());
  const n = VIRTUAL_TOKEN_DEFAULTS[kind];
  const width = embedWidthOf(checked.shapes, checked.config.hidden);
  const e = estimateTrainingMemory({
    model: shell,
    shapes: checked.shapes,
    method,
    batch: B,
    seq: T,
    checkpointing: false,
    peft: { kind, targets: [], r: 0, prompt: promptTerms(shell, kind, n, width, T) },
  });
  shell.dispose();
  return e;
}

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
      const e = estimate(kind, method);
      expect(e.weightBytes).toBe(weights);
      expect(e.peakBytes / peak, `estimate ${e.peakBytes} vs measured ${peak}`).toBeGreaterThan(
        0.9,
      );
      expect(e.peakBytes / peak).toBeLessThan(1.1);
    },
  );
});
