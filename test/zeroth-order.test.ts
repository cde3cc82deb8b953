// The zeroth-order family against direct implementations of the formulas in
// docs/methods.md#the-zeroth-order-family, on the wasm backend (its noise kernel is the reference
// loop, bit for bit) with the reference noise (engine/util/counter-rng.ts): the estimator's
// expectation is the gradient, perturb/restore is exact to float32 rounding, each update rule is
// its formula, zo-cons keeps the best candidate, Forward-Grad's JVP is the directional derivative,
// and every method lowers the loss.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { causalLmLoss } from '../engine/models/loss.js';
import { createMethod } from '../engine/optim/create-method.js';
import { lossAndJvp } from '../engine/optim/forward-grad.js';
import type { Batch, MethodName } from '../engine/optim/method.js';
import { batchesLoss, projectedGradient } from '../engine/optim/zo.js';
import { applyNoise, querySeed, trainableTensors } from '../engine/optim/zo-params.js';
import { toBatch } from '../engine/train/text-data.js';
import { fillNormals } from '../engine/util/counter-rng.js';
import { architectureFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});
afterAll(() => tf.disposeVariables());

type Values = Map<string, Float32Array>;

const batchOf = (seed: number, rows = 2, t = 12): Batch =>
  toBatch(
    Array.from({ length: rows }, (_, r) => tokenIds(t - 2 * r, seed + r)),
    t,
    0,
  );

async function load(name: string, trainable?: (n: string) => boolean): Promise<CausalLM> {
  const model = await loadModel(fixturePath(name));
  model.params.setTrainable(trainable);
  return model;
}

async function snapshot(model: CausalLM): Promise<Values> {
  const out: Values = new Map();
  for (const t of trainableTensors(model.params))
    out.set(t.name, (await t.variable.data()) as Float32Array);
  return out;
}

function setWeights(model: CausalLM, values: Values): void {
  for (const t of trainableTensors(model.params))
    t.variable.assign(tf.tensor(values.get(t.name)!, t.variable.shape));
}

/** z for every trainable tensor, from the reference generator. */
function noiseOf(model: CausalLM, seed: number): Values {
  const out: Values = new Map();
  for (const t of trainableTensors(model.params))
    out.set(t.name, fillNormals(new Float32Array(t.variable.size), seed, t.stream));
  return out;
}

/** θ + s·z element-wise, in float32. */
function axpy(theta: Values, z: Values, s: number, decay = 1, decays?: (name: string) => boolean) {
  const out: Values = new Map();
  for (const [name, x] of theta) {
    const zs = z.get(name)!;
    const a = decays?.(name) ? decay : 1;
    out.set(
      name,
      Float32Array.from(x, (v, i) => a * v + s * zs[i]!),
    );
  }
  return out;
}

async function lossAt(model: CausalLM, values: Values, batch: Batch): Promise<number> {
  setWeights(model, values);
  return batchesLoss(model, [batch]);
}

/** The direct two-sided projected gradient from explicit θ ± μz. */
async function directG(model: CausalLM, theta: Values, z: Values, eps: number, batch: Batch) {
  const plus = await lossAt(model, axpy(theta, z, eps), batch);
  const minus = await lossAt(model, axpy(theta, z, -eps), batch);
  setWeights(model, theta);
  return (plus - minus) / (2 * eps);
}

/** Every tensor's update (after − before) agrees with the expected one to `tol` of its scale. */
function expectUpdate(before: Values, after: Values, expected: Values, tol = 2e-3) {
  for (const [name, x] of before) {
    const got = after.get(name)!.map((v, i) => v - x[i]!);
    const want = expected.get(name)!.map((v, i) => v - x[i]!);
    expect(Math.max(...want.map(Math.abs)), name).toBeGreaterThan(0);
    expect(relativeError(got, want), name).toBeLessThan(tol);
  }
}

/** ∇f·v over the trainable tensors, with ∇f from backprop. */
async function backpropDot(model: CausalLM, batch: Batch, v: Values): Promise<number> {
  const tensors = trainableTensors(model.params);
  const { grads } = tf.variableGrads(
    () => causalLmLoss(forwardLogits(model, batch.ids), batch.ids, batch.mask),
    tensors.map((t) => t.variable),
  );
  let dot = 0;
  for (const t of tensors) {
    const g = (await grads[t.variable.name]!.data()) as Float32Array;
    const vs = v.get(t.name)!;
    for (let i = 0; i < g.length; i++) dot += g[i]! * vs[i]!;
  }
  tf.dispose(Object.values(grads));
  return dot;
}

const is2d = (model: CausalLM) => (name: string) => model.params.get(name).rank >= 2;

describe('zeroth-order estimator', () => {
  it('perturb and restore leave each weight within float32 rounding of one add/sub pair', async () => {
    const model = await load('llama');
    const tensors = trainableTensors(model.params);
    const theta = await snapshot(model);
    const eps = 1e-3;
    const z = noiseOf(model, 5);
    applyNoise(tensors, { seed: 5, a: 1, b: eps, transform: 'none' });
    applyNoise(tensors, { seed: 5, a: 1, b: -2 * eps, transform: 'none' });
    applyNoise(tensors, { seed: 5, a: 1, b: eps, transform: 'none' });
    const after = await snapshot(model);
    let identical = 0;
    let total = 0;
    for (const [name, x] of theta) {
      const y = after.get(name)!;
      const zs = z.get(name)!;
      for (let i = 0; i < x.length; i++) {
        // Three roundings, each at most half an ulp of a value below |θ| + 2μ|z|.
        const scale = Math.abs(x[i]!) + 2 * eps * Math.abs(zs[i]!);
        const ulp = 2 ** (Math.floor(Math.log2(scale)) - 23);
        expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(1.5 * ulp);
        if (y[i] === x[i]) identical++;
        total++;
      }
    }
    expect(identical / total).toBeGreaterThan(0.5);
    model.params.dispose();
    model.dispose();
  });

  it('is unbiased: the mean of many estimates points along the backprop gradient', async () => {
    // 64 trainable weights, so 800 estimates reach a cosine near 1/sqrt(1 + 65/800) = 0.96.
    const model = await load('llama', (n) => n === 'model.norm.weight');
    const tensors = trainableTensors(model.params);
    const batch = batchOf(11);
    const variable = model.params.get('model.norm.weight');
    const { grads } = tf.variableGrads(
      () => causalLmLoss(forwardLogits(model, batch.ids), batch.ids, batch.mask),
      [variable],
    );
    const truth = (await grads[variable.name]!.data()) as Float32Array;
    const mean = new Float64Array(truth.length);
    const estimates = 800;
    for (let k = 0; k < estimates; k++) {
      const seed = querySeed(3, k, 0);
      const { g } = await projectedGradient(
        () => batchesLoss(model, [batch]),
        (b) => applyNoise(tensors, { seed, a: 1, b, transform: 'none' }),
        1e-3,
      );
      const z = fillNormals(new Float32Array(truth.length), seed, tensors[0]!.stream);
      for (let i = 0; i < truth.length; i++) mean[i]! += (g * z[i]!) / estimates;
    }
    let dot = 0;
    let nm = 0;
    let nt = 0;
    for (let i = 0; i < truth.length; i++) {
      dot += mean[i]! * truth[i]!;
      nm += mean[i]! ** 2;
      nt += truth[i]! ** 2;
    }
    expect(dot / Math.sqrt(nm * nt)).toBeGreaterThan(0.9);
    tf.dispose(Object.values(grads));
    model.params.dispose();
    model.dispose();
  }, 120_000);
});

describe('update rules match their formulas', () => {
  const lr = 1e-2;
  const eps = 1e-2;

  async function oneStep(method: MethodName, extra: Record<string, unknown> = {}, steps = 1) {
    const model = await load('llama');
    const batch = batchOf(21);
    const theta = await snapshot(model);
    const m = createMethod(model, { method, zoEps: eps, seed: 9, ...extra });
    for (let s = 0; s < steps; s++) await m.step([batch], lr);
    const after = await snapshot(model);
    m.dispose();
    return { model, batch, theta, after };
  }

  it('zo-sgd with two queries and weight decay: θ(1 − η·wd) − (η/q) Σ gᵢzᵢ', async () => {
    const { model, batch, theta, after } = await oneStep('zo-sgd', {
      zoQueries: 2,
      weightDecay: 0.1,
    });
    const seeds = [querySeed(9, 1, 0), querySeed(9, 1, 1)];
    setWeights(model, theta);
    let expected = theta;
    for (const [i, seed] of seeds.entries()) {
      const z = noiseOf(model, seed);
      const g = await directG(model, theta, z, eps, batch);
      expected = axpy(expected, z, (-lr * g) / 2, i === 0 ? 1 - lr * 0.1 : 1, is2d(model));
    }
    expectUpdate(theta, after, expected);
  });

  it.each(['projected', 'elementwise'] as const)('zo-sign (%s)', async (form) => {
    const { model, batch, theta, after } = await oneStep('zo-sign', { zoSignForm: form });
    setWeights(model, theta);
    const z = noiseOf(model, querySeed(9, 1, 0));
    const g = await directG(model, theta, z, eps, batch);
    const direction =
      form === 'projected' ? z : new Map([...z].map(([n, v]) => [n, v.map(Math.sign)]));
    expectUpdate(theta, after, axpy(theta, direction, -lr * Math.sign(g)));
  });

  it('zo-mmt over two steps: m ← 0.9m + ĝ, θ ← θ − ηm', async () => {
    const { model, batch, theta, after } = await oneStep('zo-mmt', {}, 2);
    setWeights(model, theta);
    const z1 = noiseOf(model, querySeed(9, 1, 0));
    const g1 = await directG(model, theta, z1, eps, batch);
    const theta1 = axpy(theta, z1, -lr * g1);
    const z2 = noiseOf(model, querySeed(9, 2, 0));
    const g2 = await directG(model, theta1, z2, eps, batch);
    // θ2 = θ1 − η(0.9·g1z1 + g2z2)
    expectUpdate(theta, after, axpy(axpy(theta1, z1, -lr * 0.9 * g1), z2, -lr * g2));
  });

  it('zo-adam: one Adam step on ĝ', async () => {
    const { model, batch, theta, after } = await oneStep('zo-adam');
    setWeights(model, theta);
    const z = noiseOf(model, querySeed(9, 1, 0));
    const g = await directG(model, theta, z, eps, batch);
    const expected: Values = new Map();
    for (const [name, x] of theta) {
      const zs = z.get(name)!;
      expected.set(
        name,
        x.map((v, i) => {
          const gh = g * zs[i]!;
          const mHat = (0.1 * gh) / 0.1;
          const vHat = (0.001 * gh * gh) / 0.001;
          return v - (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
        }),
      );
    }
    expectUpdate(theta, after, expected);
  });

  it('forward-grad: θ − η(∇f·v)v with ∇f from backprop', async () => {
    const { model, batch, theta, after } = await oneStep('forward-grad');
    setWeights(model, theta);
    const v = noiseOf(model, querySeed(9, 1, 0));
    const jvp = await backpropDot(model, batch, v);
    expectUpdate(theta, after, axpy(theta, v, -lr * jvp));
  });

  it('zo-cons keeps the best of θ, θ − ηĝ and θ + ηĝ', async () => {
    const choices = new Set<number>();
    for (const rate of [1e-3, 3e-2, 3]) {
      const model = await load('llama');
      const batch = batchOf(31);
      const theta = await snapshot(model);
      const m = createMethod(model, { method: 'zo-cons', zoEps: eps, seed: 4 });
      await m.step([batch], rate);
      const after = await snapshot(model);
      m.dispose();
      const z = noiseOf(model, querySeed(4, 1, 0));
      const g = await directG(model, theta, z, eps, batch);
      const candidates = [theta, axpy(theta, z, -rate * g), axpy(theta, z, rate * g)];
      const losses = [];
      for (const c of candidates) losses.push(await lossAt(model, c, batch));
      const best = losses.indexOf(Math.min(...losses));
      choices.add(best);
      const errors = candidates.map((c) =>
        Math.max(...[...c].map(([name, x]) => relativeError(after.get(name)!, x))),
      );
      expect(errors.indexOf(Math.min(...errors)), `losses ${losses.join(', ')}`).toBe(best);
      expect(errors[best]).toBeLessThan(1e-5);
      model.params.dispose();
      model.dispose();
    }
    // The rates were picked so that the test sees more than one choice made.
    expect(choices.size).toBeGreaterThan(1);
  });
});

describe('Forward-Grad tangents', () => {
  it.each(architectureFixtures)(
    '%s: the JVP equals backprop·v and the finite-difference directional derivative',
    async (name) => {
      const model = await load(name);
      const batch = batchOf(41);
      const tensors = trainableTensors(model.params);
      await batchesLoss(model, [batch]); // builds the model's cached constants (masks, rotary)
      const before = tf.memory().numTensors;
      const { jvp } = await lossAndJvp(model, tensors, [batch], 17);
      expect(tf.memory().numTensors).toBe(before); // no tangent outlives the pass
      const theta = await snapshot(model);
      const v = noiseOf(model, 17);
      const dot = await backpropDot(model, batch, v);
      expect(Math.abs(jvp - dot) / Math.abs(dot)).toBeLessThan(1e-4);
      // v has norm ~sqrt(#weights) ~ 400: a small step keeps the difference in the linear regime.
      const h = 3e-4;
      const fd =
        (await lossAt(model, axpy(theta, v, h), batch)) -
        (await lossAt(model, axpy(theta, v, -h), batch));
      // Looser: float32 losses, and OPT's ReLU kinks inside the step.
      expect(Math.abs(jvp - fd / (2 * h)) / Math.abs(jvp)).toBeLessThan(5e-2);
      model.params.dispose();
      model.dispose();
    },
  );
});

describe('every zeroth-order method lowers the loss', () => {
  // One repeated batch: the loss on it must fall. Rates suit this 2-layer fixture.
  const cases: [MethodName, number, Record<string, unknown>][] = [
    ['zo-sgd', 1e-3, {}],
    ['zo-sgd', 1e-3, { zoOneSided: true }],
    // A sign step moves every weight by η|z| whatever the gradient's size: a larger rate.
    ['zo-sign', 3e-3, {}],
    ['zo-sign', 3e-3, { zoSignForm: 'elementwise' }],
    ['zo-mmt', 3e-4, {}],
    ['zo-cons', 1e-3, {}],
    ['zo-adam', 1e-3, {}],
    ['forward-grad', 1e-3, {}],
  ];
  it.each(cases)(
    '%s (lr %s, %o)',
    async (method, lr, extra) => {
      const model = await load('llama');
      const batch = batchOf(51, 4, 16);
      const start = await batchesLoss(model, [batch]);
      const m = createMethod(model, { method, seed: 1, ...extra });
      for (let s = 0; s < 40; s++) await m.step([batch], lr);
      const end = await batchesLoss(model, [batch]);
      m.dispose();
      expect(end).toBeLessThan(start - 0.05);
      model.params.dispose();
      model.dispose();
    },
    60_000,
  );
});
