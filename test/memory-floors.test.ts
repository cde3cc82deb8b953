// Memory floors (docs/memory.md#each-methods-floor), measured on a 27M-parameter Llama where
// the weights dominate: LOMO at most 0.7× FO-SGD and 0.4× FO-AdamW, LOMO never holding more than
// one part's gradients, the zeroth-order family at inference plus one tensor-sized temporary
// (plus MMT's and Adam's state), and `whetstone estimate`'s formula within 10% of every peak.
import { describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { tf } from '../engine/backend/tf.js';
import { forwardLogits } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { Params } from '../engine/models/params.js';
import { createMethod } from '../engine/optim/create-method.js';
import type { MethodName } from '../engine/optim/method.js';
import { estimateTrainingMemory } from '../engine/train/estimate.js';
import { toBatch } from '../engine/train/text-data.js';
import { memoryModel, memoryRows } from './memory-model.js';

const B = 1;
const T = 16;
const fixture = memoryModel('floors');

const batchRows = () => memoryRows(B, T);

async function measure(
  method: MethodName,
  recompute = false,
): Promise<{ peak: number; weights: number }> {
  const model = await loadModel(fixture.path);
  model.params.setTrainable();
  const trainer = createMethod(model, { method, recompute });
  const batch = toBatch(batchRows(), T, 0);
  memory.resetPeak();
  await trainer.step([batch], 1e-4);
  const peak = memory.peakBytes;
  const weights = model.params.bytes();
  batch.ids.dispose();
  batch.mask.dispose();
  trainer.dispose();
  model.params.dispose();
  model.dispose();
  return { peak, weights };
}

describe('memory floors on a 27M-parameter model', () => {
  const peaks = new Map<string, number>();

  it.each([
    ['fo-sgd', false],
    ['fo-sgd', true],
    ['fo-adamw', false],
    ['lomo', true],
    ['adalomo', true],
    ['zo-sgd', false],
    ['zo-sign', false],
    ['zo-mmt', false],
    ['zo-cons', false],
    ['zo-adam', false],
    ['forward-grad', false],
  ] as const)(
    '%s (recompute %s): the estimate is within a tenth of the measured peak',
    async (method, recompute) => {
      const { peak, weights } = await measure(method, recompute);
      expect(weights).toBeGreaterThan(100e6); // weights dominate
      peaks.set(`${method}${recompute && !method.includes('lomo') ? '+ckpt' : ''}`, peak);
      const shell = fixture.checked.arch.create(fixture.checked.config, new Params());
      const estimate = estimateTrainingMemory({
        model: shell,
        shapes: fixture.checked.shapes,
        method,
        batch: B,
        seq: T,
        recompute,
      });
      shell.dispose();
      expect(
        estimate.peakBytes / peak,
        `estimate ${estimate.peakBytes} vs measured ${peak}`,
      ).toBeGreaterThan(0.9);
      expect(estimate.peakBytes / peak).toBeLessThan(1.1);
    },
  );

  it('LOMO needs at most 0.7× the memory of FO-SGD and 0.4× that of FO-AdamW', () => {
    const lomo = peaks.get('lomo')!;
    expect(lomo / peaks.get('fo-sgd')!).toBeLessThanOrEqual(0.7);
    expect(lomo / peaks.get('fo-adamw')!).toBeLessThanOrEqual(0.4);
  });

  it('zeroth-order methods need inference plus one tensor-sized temporary (plus their state)', async () => {
    const model = await loadModel(fixture.path);
    const weights = model.params.bytes();
    const largestTensor = Math.max(...[...model.params.entries()].map(([, v]) => v.size * 4));
    const ids = tf.tensor2d(batchRows(), [B, T], 'int32');
    memory.resetPeak();
    tf.tidy(() => forwardLogits(model, ids));
    const inference = memory.peakBytes;
    ids.dispose();
    model.params.dispose();
    model.dispose();
    // ZO-SGD-MMT keeps a momentum and ZO-Adam two moments, each the size of the weights.
    const state = { 'zo-mmt': weights, 'zo-adam': 2 * weights } as Record<string, number>;
    for (const method of ['zo-sgd', 'zo-sign', 'zo-mmt', 'zo-cons', 'zo-adam', 'forward-grad']) {
      const extra = peaks.get(method)! - (state[method] ?? 0) - inference;
      expect(extra / largestTensor, method).toBeLessThanOrEqual(1.1);
    }
    // Against backprop: ZO-SGD needs at most 0.55× FO-SGD's memory here (no gradients).
    expect(peaks.get('zo-sgd')! / peaks.get('fo-sgd')!).toBeLessThanOrEqual(0.55);
  });

  it('LOMO never holds more than one part of the model’s gradients at a time', async () => {
    const model = await loadModel(fixture.path);
    const weights = model.params.bytes();
    const size = (names: string[]) => names.reduce((s, n) => s + model.params.get(n).size * 4, 0);
    const parts = ['embed' as const, 'head' as const, ...Array.from({ length: 8 }, (_, i) => i)];
    const largestPart = Math.max(...parts.map((p) => size(model.partParams(p))));
    const largestTensor = Math.max(...[...model.params.entries()].map(([, v]) => v.size * 4));
    // What inference alone adds over the weights for this batch (activations).
    const ids = tf.tensor2d(batchRows(), [B, T], 'int32');
    memory.resetPeak();
    tf.tidy(() => forwardLogits(model, ids));
    const inference = memory.peakBytes - weights;
    ids.dispose();
    model.params.dispose();
    model.dispose();
    const lomoExtra = peaks.get('lomo')! - weights;
    // One part's gradients, the gradient and update temporaries of its largest tensor, and the
    // activations: holding a second part's gradients would not fit under this bound.
    expect(lomoExtra).toBeLessThan(largestPart + 2 * largestTensor + 2 * inference);
    expect(lomoExtra).toBeLessThan(0.3 * weights); // all gradients would be 1.0× weights
  });
});
