// Tests for the per-parameter optimizer updates: each is checked against a direct float64
// implementation of its formulas, over several steps with state carried, plus clipping and memory.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/select.js';
import { tf, type Tensor, type Variable } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import {
  ADALOMO_DEFAULTS,
  ADAMW_DEFAULTS,
  adalomoUpdate,
  adamwUpdate,
  clipByValue,
  clipCoefficient,
  clipGradient,
  createAdaLomoState,
  createAdamWState,
  sgdUpdate,
  sumOfSquares,
  type AdaLomoOptions,
  type AdaLomoState,
  type AdamWOptions,
  type AdamWState,
} from './updates.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const SHAPES: number[][] = [[7, 5], [2, 3, 4], [6]];

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const rmsOf = (x: ArrayLike<number>): number =>
  Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);

/** Every |a − e| ≤ 1e-6 + 1e-5·|e| (the worst ratio must be ≤ 1; NaN fails too). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) / (1e-6 + 1e-5 * Math.abs(e)));
  }
  expect(worst, what).toBeLessThanOrEqual(1);
}

// ---- Direct float64 references, written from the formulas (no tensors involved) ----

function refSgd(p: Float64Array, g: Float64Array, lr: number, wd: number): void {
  for (let i = 0; i < p.length; i++) p[i] = p[i]! * (1 - lr * wd) - lr * g[i]!;
}

type RefState = Record<string, Float64Array>;

function refAdamW(p: Float64Array, g: Float64Array, s: RefState, t: number, o: AdamWOptions) {
  const [m, v] = [s.m!, s.v!];
  for (let i = 0; i < p.length; i++) {
    p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g[i]!;
    v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g[i]! * g[i]!;
    const mHat = m[i]! / (1 - o.beta1 ** t);
    const vHat = v[i]! / (1 - o.beta2 ** t);
    p[i] = p[i]! - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
  }
}

/** One AdaLomo step in place (row [B·m], col [B·n] or full); returns the update's raw RMS. */
function refAdaLomo(
  p: Float64Array,
  g: Float64Array,
  shape: number[],
  s: RefState,
  t: number,
  o: AdaLomoOptions,
): number {
  const beta2t = 1 - t ** o.decayRate;
  const ema = (x: Float64Array, fresh: ArrayLike<number>) =>
    x.forEach((old, k) => (x[k] = beta2t * old + (1 - beta2t) * fresh[k]!));
  const u = g.map((x) => x * x + o.eps1);
  let update: Float64Array;
  if (shape.length >= 2) {
    const [row, col] = [s.row!, s.col!];
    const [m, n] = shape.slice(-2) as [number, number];
    // Flat element k is (b, i, j) with k = (b·m + i)·n + j; row index b·m + i, col index b·n + j.
    const r = (k: number) => Math.floor(k / n);
    const c = (k: number) => Math.floor(k / (m * n)) * n + (k % n);
    const [rowU, colU] = [new Float64Array(row.length), new Float64Array(col.length)];
    u.forEach((x, k) => {
      rowU[r(k)] = rowU[r(k)]! + x / n;
      colU[c(k)] = colU[c(k)]! + x / m;
    });
    ema(row, rowU);
    ema(col, colU);
    const rowMean = new Float64Array(row.length / m);
    row.forEach((x, i) => (rowMean[Math.floor(i / m)] = rowMean[Math.floor(i / m)]! + x / m));
    update = g.map((x, k) => {
      const rowMeanK = rowMean[Math.floor(k / (m * n))]!;
      return x / Math.sqrt((row[r(k)]! / rowMeanK) * col[c(k)]!);
    });
  } else {
    ema(s.full!, u);
    update = g.map((x, k) => x / Math.sqrt(s.full![k]!));
  }
  const rawRms = rmsOf(update);
  const clip = Math.max(1, rawRms / o.clipThreshold);
  const lrT = o.lr * Math.max(o.eps2, rmsOf(p)); // RMS(θ) before the update
  for (let i = 0; i < p.length; i++)
    p[i] = p[i]! * (1 - lrT * o.weightDecay) - lrT * (update[i]! / clip);
  return rawRms;
}

/** One optimizer: its tf state (a record of variables) and a step for each implementation. */
interface Run<S extends object> {
  create: (param: Variable) => S;
  tfStep: (param: Variable, grad: Tensor, state: S, t: number) => void;
  refStep: (p: Float64Array, g: Float64Array, shape: number[], state: RefState, t: number) => void;
}

function compareSteps<S extends object>(run: Run<S>, shape: number[], seed: number, std = 1) {
  const rng = new Rng(seed);
  const init = rng.normals(numel(shape), std);
  const param = tf.tidy(() => tf.variable(tf.tensor(init, shape)));
  const p = Float64Array.from(init);
  const state = run.create(param);
  const vars = Object.entries(state) as [string, Variable][];
  // The reference keeps flat float64 copies of the same state, starting from zeros.
  const ref: RefState = Object.fromEntries(vars.map(([k, v]) => [k, new Float64Array(v.size)]));
  const shapes = vars.map(([, v]) => v.shape);
  const before = tf.memory().numTensors;
  for (let t = 1; t <= 5; t++) {
    const g32 = rng.normals(numel(shape), 0.5 * t); // growing scale keeps the state relevant
    tf.tidy(() => run.tfStep(param, tf.tensor(g32, shape), state, t));
    run.refStep(p, Float64Array.from(g32), shape, ref, t);
    expectClose(param.dataSync(), p, `param at t=${t}`);
    for (const [k, v] of vars) expectClose(v.dataSync(), ref[k]!, `${k} at t=${t}`);
    expect(vars.map(([, v]) => v.shape)).toEqual(shapes); // assign never reshapes
  }
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([param, ...vars.map(([, v]) => v)]);
}

const sgdRun = (lr: number, weightDecay: number): Run<object> => ({
  create: () => ({}),
  tfStep: (param, grad) => sgdUpdate(param, grad, { lr, weightDecay }),
  refStep: (p, g) => refSgd(p, g, lr, weightDecay),
});

const adamwRun = (o: AdamWOptions): Run<AdamWState> => ({
  create: createAdamWState,
  tfStep: (param, grad, s, t) => adamwUpdate(param, grad, s, t, o),
  refStep: (p, g, _shape, s, t) => refAdamW(p, g, s, t, o),
});

const adalomoRun = (o: AdaLomoOptions): Run<AdaLomoState> => ({
  create: createAdaLomoState,
  tfStep: (param, grad, s, t) => adalomoUpdate(param, grad, s, t, o),
  refStep: (p, g, shape, s, t) => void refAdaLomo(p, g, shape, s, t, o),
});

describe('sgdUpdate', () => {
  for (const shape of SHAPES)
    for (const wd of [0, 0.1])
      it(`matches θ(1 − η·wd) − η·g for ${JSON.stringify(shape)}, wd ${wd}`, () => {
        compareSteps(sgdRun(0.1, wd), shape, 11 + shape.length);
      });
});

describe('adamwUpdate', () => {
  // The custom options move eps and the betas where a misplaced term would show.
  const custom: AdamWOptions = { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-3, weightDecay: 0.1 };
  for (const shape of SHAPES) {
    it(`matches PyTorch AdamW with defaults for ${JSON.stringify(shape)}`, () => {
      compareSteps(adamwRun({ ...ADAMW_DEFAULTS, lr: 0.01 }), shape, 21 + shape.length);
    });
    it(`matches PyTorch AdamW with weight decay for ${JSON.stringify(shape)}`, () => {
      compareSteps(adamwRun(custom), shape, 31 + shape.length);
    });
  }

  it('rejects a step that is not a positive integer', () => {
    const param = tf.tidy(() => tf.variable(tf.zeros([3])));
    const state = createAdamWState(param);
    const grad = tf.ones([3]);
    const o = { ...ADAMW_DEFAULTS, lr: 0.1 };
    expect(() => adamwUpdate(param, grad, state, 0, o)).toThrow(/step/);
    expect(() => adamwUpdate(param, grad, state, 1.5, o)).toThrow(/step/);
    tf.dispose([param, state.m, state.v, grad]);
  });
});

describe('adalomoUpdate', () => {
  // Non-default eps1, clip threshold and decay rate, so each appears in the result.
  const tuned = { eps1: 1e-2, clipThreshold: 0.5, decayRate: -0.5 };
  const custom: AdaLomoOptions = { ...ADALOMO_DEFAULTS, ...tuned, lr: 0.05, weightDecay: 0.1 };
  for (const shape of [...SHAPES, []]) {
    it(`matches adalomo.py with defaults for ${JSON.stringify(shape)}`, () => {
      compareSteps(adalomoRun({ ...ADALOMO_DEFAULTS, lr: 0.05 }), shape, 41 + shape.length);
    });
    it(`matches adalomo.py with weight decay for ${JSON.stringify(shape)}`, () => {
      compareSteps(adalomoRun(custom), shape, 51 + shape.length);
    });
  }

  it('scales the step by eps2 when the parameter is tiny', () => {
    // RMS(θ) ≈ 1e-5 < eps2 = 1e-3, so ηt = lr·eps2.
    compareSteps(adalomoRun({ ...ADALOMO_DEFAULTS, lr: 0.05 }), [7, 5], 61, 1e-5);
    compareSteps(adalomoRun(custom), [6], 62, 1e-5);
  });

  it('keeps factored state for matrices and a full one for vectors and scalars', () => {
    const shapes = (shape: number[]) => {
      const param = tf.tidy(() => tf.variable(tf.zeros(shape)));
      const s = createAdaLomoState(param);
      const vars = Object.entries(s) as [string, Variable][];
      expect(vars.every(([, v]) => !v.trainable && v.dtype === 'float32')).toBe(true);
      tf.dispose([param, ...vars.map(([, v]) => v)]);
      return Object.fromEntries(vars.map(([k, v]) => [k, v.shape]));
    };
    expect(shapes([7, 5])).toStrictEqual({ row: [7], col: [5] });
    expect(shapes([2, 3, 4])).toStrictEqual({ row: [2, 3], col: [2, 4] });
    expect(shapes([6])).toStrictEqual({ full: [6] });
    expect(shapes([])).toStrictEqual({ full: [] });
  });

  it('clips the update to RMS clipThreshold after a gradient spike', () => {
    const shape = [7, 5];
    const o = { ...ADALOMO_DEFAULTS, lr: 0.05 };
    const rng = new Rng(71);
    const init = rng.normals(35);
    const param = tf.tidy(() => tf.variable(tf.tensor(init, shape)));
    const state = createAdaLomoState(param);
    const p = Float64Array.from(init);
    const ref: RefState = { row: new Float64Array(7), col: new Float64Array(5) };
    for (const t of [1, 2]) {
      const g32 = rng.normals(35, t === 1 ? 1e-3 : 10);
      const theta = param.dataSync().slice();
      const lrT = o.lr * Math.max(o.eps2, rmsOf(theta));
      tf.tidy(() => adalomoUpdate(param, tf.tensor(g32, shape), state, t, o));
      const rawRms = refAdaLomo(p, Float64Array.from(g32), shape, ref, t, o);
      expectClose(param.dataSync(), p, `param at t=${t}`);
      if (t === 1) continue;
      // The spike's raw update is over the threshold; the step taken has RMS ηt·clipThreshold.
      expect(rawRms).toBeGreaterThan(1.2);
      const moved = param.dataSync().map((x, i) => (theta[i]! - x) / lrT);
      expect(rmsOf(moved)).toBeCloseTo(o.clipThreshold, 4);
    }
    tf.dispose([param, state.row!, state.col!]);
  });
});

describe('gradient clipping helpers', () => {
  it('clipByValue clamps each element to [−limit, limit] and leaves the input alone', () => {
    const g = tf.tensor([-3, -0.5, 0, 0.25, 2, 7]);
    const c = clipByValue(g, 1);
    expect(Array.from(c.dataSync())).toEqual([-1, -0.5, 0, 0.25, 1, 1]);
    expect(Array.from(g.dataSync())).toEqual([-3, -0.5, 0, 0.25, 2, 7]);
    tf.dispose([g, c]);
  });

  it('sumOfSquares is Σ g² as a scalar', () => {
    const data = new Rng(81).normals(24);
    const g = tf.tensor(data, [2, 3, 4]);
    const s = sumOfSquares(g);
    expect(s.rank).toBe(0);
    expectClose(s.dataSync(), [Array.from(data).reduce((a, x) => a + x * x, 0)], 'sum');
    tf.dispose([g, s]);
  });

  it('clipCoefficient is min(maxNorm / (total + 1e-6), 1)', () => {
    expect(clipCoefficient(0.5, 1)).toBe(1); // below the max: no clipping
    expect(clipCoefficient(4, 1)).toBeCloseTo(1 / (4 + 1e-6), 12);
    expect(clipCoefficient(4, 1)).toBeLessThan(0.25);
  });

  it('clipGradient clamps first, then scales; the gradient itself when nothing is asked', () => {
    const g = tf.tensor([-3, -0.5, 0, 0.25, 2, 7]);
    const both = clipGradient(g, 0.5, 1);
    // Scaled first, 7 would become min(3.5, 1) = 1 rather than 0.5.
    expectClose(both.dataSync(), [-0.5, -0.25, 0, 0.125, 0.5, 0.5], 'clamp then scale');
    const scaled = clipGradient(g, 0.5);
    expectClose(scaled.dataSync(), [-1.5, -0.25, 0, 0.125, 1, 3.5], 'scale only');
    expect(clipGradient(g, 1)).toBe(g);
    tf.dispose([g, both, scaled]);
  });
});

describe('memory', () => {
  it('updates leave no tensors behind; state adds exactly its variables', () => {
    const start = tf.memory().numTensors;
    const param = tf.tidy(() => tf.variable(tf.ones([4, 3])));
    const vec = tf.tidy(() => tf.variable(tf.ones([3])));
    const grad = tf.fill([4, 3], 0.5);
    const gvec = tf.fill([3], 0.5);
    const adam = createAdamWState(param);
    const ada = createAdaLomoState(param);
    const adaVec = createAdaLomoState(vec);
    expect(tf.memory().numTensors).toBe(start + 4 + 2 + 2 + 1);
    for (let t = 1; t <= 3; t++) {
      sgdUpdate(param, grad, { lr: 0.1, weightDecay: 0.1 });
      adamwUpdate(param, grad, adam, t, { ...ADAMW_DEFAULTS, lr: 0.1, weightDecay: 0.1 });
      adalomoUpdate(param, grad, ada, t, { ...ADALOMO_DEFAULTS, lr: 0.1, weightDecay: 0.1 });
      adalomoUpdate(vec, gvec, adaVec, t, { ...ADALOMO_DEFAULTS, lr: 0.1 });
      sumOfSquares(grad).dispose();
      clipByValue(grad, 0.1).dispose();
      clipGradient(grad, 0.5, 0.1).dispose();
    }
    expect(tf.memory().numTensors).toBe(start + 9);
    tf.dispose([param, vec, grad, gvec, adam.m, adam.v, ada.row!, ada.col!, adaVec.full!]);
    expect(tf.memory().numTensors).toBe(start);
  });
});
