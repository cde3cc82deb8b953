// Memory of the masked-LM encoder: `whetstone estimate`'s formula within 10% of the measured peak
// of one step of every method, and of every PEFT scheme, on a 27M-parameter RoBERTa trained on a
// masked-LM batch (the MLM head's extra dense layer and bias included).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName, PeftKind } from '../common/methods.js';
import { memory } from '../engine/backend/memory.js';
import { initBackend } from '../engine/backend/select.js';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { createMethod } from '../engine/optim/create-method.js';
import { disposeBatch } from '../engine/optim/method.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { mlmBatch } from '../engine/train/mlm-masking.js';
import { Rng } from '../engine/util/rng.js';
import { estimateOf, memoryRows } from './memory-model.js';

const B = 2;
const T = 32;
let dir: string;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'whetstone-encoder-memory-'));
  await writeFixtureModel({
    arch: 'roberta',
    out: join(dir, 'm'),
    layers: 8,
    hidden: 512,
    heads: 8,
    vocab: 4096,
    seed: 12,
  });
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function measure(kind: PeftKind, method: MethodName, recompute: boolean): Promise<number> {
  const pm = await loadPeftModel(join(dir, 'm'), peftSpec(kind));
  const trainer = createMethod(pm.model, { method, recompute, peft: kind });
  const masking = { maskTokenId: 4095, vocabSize: 4096, specialIds: new Set<number>() };
  const batch = mlmBatch(memoryRows(B, T), T, 1, masking, new Rng(1));
  memory.resetPeak();
  await trainer.step([batch], 1e-4);
  const peak = memory.peakBytes;
  disposeBatch(batch);
  trainer.dispose();
  pm.model.params.dispose();
  pm.model.dispose();
  return peak;
}

describe('RoBERTa memory: the estimate within a tenth of the measured peak', () => {
  it.each([
    ['full', 'fo-sgd', false],
    ['full', 'fo-sgd', true],
    ['full', 'fo-adamw', false],
    ['full', 'lomo', true],
    ['full', 'adalomo', true],
    ['full', 'zo-sgd', false],
    ['full', 'zo-sign', false],
    ['full', 'zo-mmt', false],
    ['full', 'zo-cons', false],
    ['full', 'zo-adam', false],
    ['full', 'forward-grad', false],
    ['lora', 'fo-adamw', false],
    ['qlora', 'fo-adamw', false],
    ['adalora', 'fo-adamw', false],
    ['prefix', 'fo-adamw', false],
    ['prompt', 'fo-adamw', false],
    ['lora', 'zo-sgd', false],
    ['prompt', 'zo-sgd', false],
  ] as const)('%s %s (recompute %s)', async (kind, method, recompute) => {
    const peak = await measure(kind, method, recompute);
    const estimate = await estimateOf(join(dir, 'm'), {
      method,
      batch: B,
      seq: T,
      peft: kind,
      recompute,
    });
    const ratio = estimate.peakBytes / peak;
    expect(ratio, `estimate ${estimate.peakBytes} vs measured ${peak}`).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
  });
});
