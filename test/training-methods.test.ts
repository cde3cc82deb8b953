// The backprop family against each other and against references: one LOMO step equals one
// FO-SGD step (with and without clipping, tied embeddings included; with both clips, in LOMO's
// order), AdaLomo fused equals AdaLomo's formulas applied to full-backprop gradients, activation
// recompute and gradient accumulation change nothing, and no method leaks a tensor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Tensor } from '../engine/backend/tf.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { causalLmLoss } from '../engine/models/loss.js';
import { FoMethod } from '../engine/optim/fo.js';
import { LomoMethod } from '../engine/optim/lomo.js';
import type { Batch, TrainMethod } from '../engine/optim/method.js';
import {
  ADALOMO_DEFAULTS,
  adalomoUpdate,
  createAdaLomoState,
  type AdaLomoState,
} from '../engine/optim/updates.js';
import { toBatch } from '../engine/train/text-data.js';
import { fixturePath } from './fixtures.js';
import { tokenIds } from './numerics.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tf.disposeVariables());

const B = 4;
const T = 20;

/** Rows of different lengths, so padding and the mask are exercised. */
function makeBatch(seed: number): Batch {
  const rows = Array.from({ length: B }, (_, r) => tokenIds(T - 3 * r, seed + r));
  return toBatch(rows, T, 0);
}

async function snapshot(model: CausalLM): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params.entries()) out.set(name, (await v.data()) as Float32Array);
  return out;
}

async function load(name: string): Promise<CausalLM> {
  const model = await loadModel(fixturePath(name));
  model.params.setTrainable();
  return model;
}

function free(model: CausalLM, method?: TrainMethod): void {
  method?.dispose();
  model.params.dispose();
  model.dispose();
}

/**
 * Compare two trained copies: every parameter within `tol` of the larger's scale, and the
 * updates themselves (after - before) agree to `updateTol`, so a no-op cannot pass.
 */
function expectSameUpdate(
  before: Map<string, Float32Array>,
  a: Map<string, Float32Array>,
  b: Map<string, Float32Array>,
  tol = 1e-5,
  updateTol = 1e-3,
): void {
  let moved = 0;
  for (const [name, original] of before) {
    const x = a.get(name)!;
    const y = b.get(name)!;
    let diff = 0;
    let scale = 0;
    let update = 0;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(x[i]!));
      update = Math.max(update, Math.abs(x[i]! - original[i]!));
    }
    expect(diff, `${name}: parameters differ`).toBeLessThanOrEqual(tol * scale);
    if (update > 1e-7) {
      moved++;
      expect(diff / update, `${name}: updates differ`).toBeLessThanOrEqual(updateTol);
    }
  }
  expect(moved).toBeGreaterThan(before.size / 2);
}

async function trainedWith(
  name: string,
  make: (m: CausalLM) => TrainMethod,
  batches: Batch[],
  lr: number,
  steps = 1,
) {
  const model = await load(name);
  const before = await snapshot(model);
  const method = make(model);
  // A forward first, so the model's constant tensors (masks, rotary tables) exist before counting.
  tf.tidy(() => forwardLogits(model, batches[0]!.ids));
  const tensors = tf.memory().numTensors;
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await method.step(batches, lr)).loss);
  expect(tf.memory().numTensors, 'a step leaked tensors').toBe(tensors);
  const after = await snapshot(model);
  free(model, method);
  return { before, after, losses };
}

describe.each(['llama', 'qwen2', 'gpt2'])('%s', (name) => {
  // qwen2's fixture ties the embedding to the LM head: its gradient comes from both ends.
  it('one LOMO step equals one FO-SGD step', async () => {
    const batch = makeBatch(1);
    const sgd = await trainedWith(
      name,
      (m) => new FoMethod('fo-sgd', m, { weightDecay: 0, recompute: false }),
      [batch],
      0.5,
    );
    const lomo = await trainedWith(
      name,
      (m) => new LomoMethod('lomo', m, { weightDecay: 0 }),
      [batch],
      0.5,
    );
    expect(lomo.losses[0]).toBeCloseTo(sgd.losses[0]!, 5);
    expectSameUpdate(sgd.before, sgd.after, lomo.after);
    batch.ids.dispose();
    batch.mask.dispose();
  });

  it('with clipping by global norm (two passes) LOMO equals FO-SGD clipped the same way', async () => {
    const batch = makeBatch(2);
    const clip = { weightDecay: 0.1, maxGradNorm: 0.05 };
    const sgd = await trainedWith(
      name,
      (m) => new FoMethod('fo-sgd', m, { ...clip, recompute: false }),
      [batch],
      0.5,
    );
    const lomo = await trainedWith(name, (m) => new LomoMethod('lomo', m, clip), [batch], 0.5);
    expectSameUpdate(sgd.before, sgd.after, lomo.after);
    batch.ids.dispose();
    batch.mask.dispose();
  });
});

/** The gradients of one batch by full backprop, by parameter name. */
async function gradientsOf(name: string, batch: Batch): Promise<Map<string, Float32Array>> {
  const model = await load(name);
  const entries = [...model.params.entries()];
  const { value, grads } = tf.variableGrads(
    () => causalLmLoss(forwardLogits(model, batch.ids), batch.ids, batch.mask),
    entries.map(([, v]) => v),
  );
  value.dispose();
  const out = new Map<string, Float32Array>();
  for (const [param, v] of entries) out.set(param, (await grads[v.name]!.data()) as Float32Array);
  Object.values(grads).forEach((g: Tensor) => g.dispose());
  free(model);
  return out;
}

/** Largest gap between a step's update and −lr·clip(g), relative to the largest such update. */
function gapFrom(
  run: { before: Map<string, Float32Array>; after: Map<string, Float32Array> },
  grads: Map<string, Float32Array>,
  clip: (g: number) => number,
  lr: number,
): number {
  let gap = 0;
  let scale = 0;
  for (const [name, g] of grads) {
    const before = run.before.get(name)!;
    const after = run.after.get(name)!;
    for (let i = 0; i < g.length; i++) {
      const expected = -lr * clip(g[i]!);
      gap = Math.max(gap, Math.abs(after[i]! - before[i]! - expected));
      scale = Math.max(scale, Math.abs(expected));
    }
  }
  return gap / scale;
}

describe('--clip-value with --max-grad-norm', () => {
  it("LOMO and FO-SGD both clamp, then scale by the raw gradients' norm (LOMO's code)", async () => {
    const batch = makeBatch(5);
    const lr = 0.5;
    const grads = await gradientsOf('qwen2', batch);
    const all = [...grads.values()].flatMap((g) => [...g]);
    const norm = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
    // The median magnitude: half the elements are clamped, so the clamp changes the norm too.
    const clipValue = all.map(Math.abs).sort((a, b) => a - b)[all.length >> 1]!;
    const clamp = (x: number) => Math.max(-clipValue, Math.min(clipValue, x));
    const rawNorm = norm(all);
    const clampedNorm = norm(all.map(clamp));
    const maxGradNorm = clampedNorm / 10; // the norm clips whichever norm it is taken of
    const coefficient = (n: number) => Math.min(maxGradNorm / (n + 1e-6), 1);

    const options = { weightDecay: 0, maxGradNorm, clipValue };
    const sgd = await trainedWith(
      'qwen2',
      (m) => new FoMethod('fo-sgd', m, { ...options, recompute: false }),
      [batch],
      lr,
    );
    const lomo = await trainedWith('qwen2', (m) => new LomoMethod('lomo', m, options), [batch], lr);
    expectSameUpdate(sgd.before, sgd.after, lomo.after);

    const chosen = (g: number) => coefficient(rawNorm) * clamp(g);
    // The other orders, each of which one method used before: the test tells them apart.
    const scaledThenClamped = (g: number) => clamp(coefficient(rawNorm) * g);
    const normOfClamped = (g: number) => coefficient(clampedNorm) * clamp(g);
    for (const [label, run] of [
      ['FO-SGD', sgd],
      ['LOMO', lomo],
    ] as const) {
      expect(gapFrom(run, grads, chosen, lr), label).toBeLessThan(1e-3);
      expect(gapFrom(run, grads, scaledThenClamped, lr), label).toBeGreaterThan(0.05);
      expect(gapFrom(run, grads, normOfClamped, lr), label).toBeGreaterThan(0.05);
    }
    batch.ids.dispose();
    batch.mask.dispose();
  });
});

describe('AdaLomo and the FO options', () => {
  it("fused AdaLomo equals AdaLomo's formulas applied to full-backprop gradients, over two steps", async () => {
    const batch = makeBatch(3);
    const lr = 0.01;
    const fused = await trainedWith(
      'qwen2',
      (m) => new LomoMethod('adalomo', m, { weightDecay: 0.01 }),
      [batch],
      lr,
      2,
    );

    const model = await load('qwen2');
    const entries = [...model.params.entries()];
    const states = new Map<string, AdaLomoState>(
      entries.map(([n, v]) => [n, createAdaLomoState(v)]),
    );
    for (let t = 1; t <= 2; t++) {
      const { value, grads } = tf.variableGrads(
        () => causalLmLoss(forwardLogits(model, batch.ids), batch.ids, batch.mask),
        entries.map(([, v]) => v),
      );
      value.dispose();
      for (const [name, v] of entries) {
        adalomoUpdate(v, grads[v.name]!, states.get(name)!, t, {
          ...ADALOMO_DEFAULTS,
          lr,
          weightDecay: 0.01,
        });
      }
      Object.values(grads).forEach((g: Tensor) => g.dispose());
    }
    const direct = await snapshot(model);
    for (const s of states.values()) for (const v of [s.row, s.col, s.full]) v?.dispose();
    free(model);
    expectSameUpdate(fused.before, fused.after, direct, 1e-5, 1e-2);
    batch.ids.dispose();
    batch.mask.dispose();
  });

  it('recomputing activations leaves FO-AdamW unchanged', async () => {
    const batch = makeBatch(4);
    const plain = await trainedWith(
      'opt',
      (m) => new FoMethod('fo-adamw', m, { weightDecay: 0.01, recompute: false }),
      [batch],
      1e-3,
      2,
    );
    const checkpointed = await trainedWith(
      'opt',
      (m) => new FoMethod('fo-adamw', m, { weightDecay: 0.01, recompute: true }),
      [batch],
      1e-3,
      2,
    );
    expectSameUpdate(plain.before, plain.after, checkpointed.after, 1e-5, 1e-2);
  });

  it('two accumulated micro-batches equal one batch of both', async () => {
    // Every row full length, so each micro-batch has the same number of targets.
    const rows = Array.from({ length: 4 }, (_, r) => tokenIds(T, 40 + r));
    const whole = toBatch(rows, T, 0);
    const halves = [toBatch(rows.slice(0, 2), T, 0), toBatch(rows.slice(2), T, 0)];
    const one = await trainedWith(
      'llama',
      (m) => new FoMethod('fo-sgd', m, { weightDecay: 0, recompute: false }),
      [whole],
      0.5,
    );
    const two = await trainedWith(
      'llama',
      (m) => new FoMethod('fo-sgd', m, { weightDecay: 0, recompute: false }),
      halves,
      0.5,
    );
    expect(two.losses[0]).toBeCloseTo(one.losses[0]!, 5);
    expectSameUpdate(one.before, one.after, two.after);
    for (const b of [whole, ...halves]) {
      b.ids.dispose();
      b.mask.dispose();
    }
  });

  it('LOMO refuses gradient accumulation with a reason', async () => {
    const model = await load('llama');
    const method = new LomoMethod('lomo', model, { weightDecay: 0 });
    const a = makeBatch(5);
    await expect(method.step([a, a], 0.1)).rejects.toThrow(/cannot accumulate/);
    a.ids.dispose();
    a.mask.dispose();
    free(model, method);
  });
});
