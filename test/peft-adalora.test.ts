// AdaLoRA's numerics: merged weights give the adapted model's logits on every fixture
// architecture, an exported adapter (only the kept ranks, PEFT's names and shapes) imports back to
// identical logits, the importance, triplet scores, cubic budget and pruning agree with a direct
// implementation on small tensors, and the orthogonality regulariser's gradient with finite
// differences.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Tensor, type Tensor2D } from '../engine/backend/tf.js';
import { loadAdaLoraWeights, readAdaLoraAdapter } from '../engine/peft/adalora-adapter.js';
import { writePeftAdapter } from '../engine/peft/lora-adapter.js';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import type { LinearSpec } from '../engine/models/layers/linear.js';
import { architectureFor } from '../engine/models/registry.js';
import { Params } from '../engine/models/params.js';
import {
  ADALORA_DEFAULTS,
  adaE,
  adaP,
  adaQ,
  addAdaLoraParams,
  disposeAdaLora,
  setPattern,
  type AdaLoraModel,
} from '../engine/peft/adalora.js';
import {
  budgetAt,
  budgetSchedule,
  Importance,
  pruneLowest,
  tripletScores,
} from '../engine/peft/adalora-budget.js';
import { AdaLoraAllocator, orthRegularizer } from '../engine/peft/adalora-train.js';
import { loadPeftModel, peftSpec, type PeftModel } from '../engine/peft/load.js';
import { mergeAdapter } from '../engine/peft/merge.js';
import { architectureFixtures, encoderFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

let work: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-adalora-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

const ids = () => tf.tensor2d([tokenIds(24, 31), tokenIds(24, 32)], [2, 24], 'int32');
const OPTIONS = { ...ADALORA_DEFAULTS, initR: 6, targetR: 3 };

async function logitsOf(model: CausalLM): Promise<Float32Array> {
  const x = ids();
  const out = forwardLogits(model, x);
  const values = (await out.data()) as Float32Array;
  tf.dispose([x, out]);
  return values;
}

async function load(dir: string, adalora = OPTIONS, alpha = 8): Promise<PeftModel> {
  return loadPeftModel(
    dir,
    peftSpec('adalora', { alpha, targets: ['all-linear'], seed: 5, adalora: { ...adalora } }),
  );
}

/** λ random (it starts at zero), and some ranks of every module pruned. */
function trainLike(pm: PeftModel, seed: number): void {
  let k = 0;
  for (const [module, m] of pm.adalora!.modules) {
    const e = pm.model.params.get(adaE(module));
    tf.tidy(() => e.assign(tf.randomNormal(e.shape, 0, 1, 'float32', seed + k)));
    // Module k keeps ranks whose index differs from k mod r (one pruned), the first module none.
    setPattern(
      pm.model.params,
      m,
      m.pattern.map((_, i) => (k === 0 ? false : i % 3 !== k % 3)),
    );
    k++;
  }
}

function mergedModel(pm: PeftModel): CausalLM {
  const arch = architectureFor(pm.model.config.modelType, 'config.json');
  return arch.create(pm.model.config, mergeAdapter(pm));
}

function free(pm: PeftModel | undefined, ...models: CausalLM[]): void {
  if (pm?.adalora) disposeAdaLora(pm.adalora);
  for (const m of [...(pm ? [pm.model] : []), ...models]) {
    m.params.dispose();
    m.dispose();
  }
}

describe.each([...architectureFixtures, ...encoderFixtures])('%s', (name) => {
  it('merged logits equal base + adapter logits; the pruned ranks are zero and count for nothing', async () => {
    const pm = await load(fixturePath(name));
    trainLike(pm, 1);
    const adapted = await logitsOf(pm.model);
    const base = await logitsOf(mergedModel({ ...pm, modules: new Map() }));
    expect(relativeError(base, adapted)).toBeGreaterThan(1e-3);
    const merged = mergedModel(pm);
    expect(relativeError(await logitsOf(merged), adapted)).toBeLessThan(1e-5);
    // Setting the pruned λ to anything else changes nothing: the mask keeps them out.
    for (const [module, m] of pm.adalora!.modules) {
      const e = pm.model.params.get(adaE(module));
      const values = Array.from(e.dataSync());
      m.pattern.forEach((keep, i) => expect(keep || values[i] === 0, `${module} λ${i}`).toBe(true));
      tf.tidy(() => e.assign(tf.add(e, tf.mul(tf.sub(1, m.mask), 5))));
    }
    expect(relativeError(await logitsOf(pm.model), adapted)).toBeLessThan(1e-6);
    free(pm, merged);
  });
});

describe('adapter export and import', () => {
  it.each(['llama', 'gpt2'] as const)(
    '%s: PEFT names and shapes, only the kept ranks, identical logits after import',
    async (name) => {
      const pm = await load(fixturePath(name));
      trainLike(pm, 2);
      Object.assign(pm.adalora!.options, { totalStep: 100, tinit: 10, tfinal: 30 });
      const out = join(work, `adapter-${name}`);
      await writePeftAdapter(pm, fixturePath(name), out);
      const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(config).toMatchObject({
        peft_type: 'ADALORA',
        init_r: 6,
        target_r: 3,
        tinit: 10,
        tfinal: 30,
        deltaT: 10,
        beta1: 0.85,
        beta2: 0.85,
        orth_reg_weight: 0.5,
        total_step: 100,
        lora_alpha: 8,
        fan_in_fan_out: name === 'gpt2',
      });
      const pattern = config.rank_pattern as Record<string, boolean[]>;
      const file = await SafetensorsFile.open(join(out, 'adapter_model.safetensors'));
      for (const [module, m] of pm.adalora!.modules) {
        expect(pattern[`${module}.lora_E`]).toEqual(m.pattern);
        const k = m.pattern.filter(Boolean).length;
        const shape = (n: string) => file.info(`base_model.model.${module}.${n}`).shape;
        expect(shape('lora_A')).toEqual([k, m.spec.inFeatures]);
        expect(shape('lora_B')).toEqual([m.spec.outFeatures, k]);
        expect(shape('lora_E')).toEqual([k, 1]);
      }
      await file.close();

      const read = await readAdaLoraAdapter(out);
      const back = await loadPeftModel(
        fixturePath(name),
        peftSpec('adalora', { ...read.lora, adalora: read.adalora, seed: 99 }),
      );
      await loadAdaLoraWeights(out, back, read.rankPattern);
      const expected = await logitsOf(pm.model);
      expect(relativeError(await logitsOf(back.model), expected)).toBe(0);
      free(pm);
      free(back);
    },
  );
});

// A direct implementation of the paper's formulas, element by element, in float64.
function directImportance(w: number[][], g: number[][], beta: number) {
  const n = w[0]!.length;
  let ipt = new Array<number>(n).fill(0);
  let unc = new Array<number>(n).fill(0);
  for (let t = 0; t < w.length; t++) {
    const I = w[t]!.map((x, i) => Math.abs(x * g[t]![i]!));
    ipt = ipt.map((v, i) => beta * v + (1 - beta) * I[i]!);
    unc = unc.map((v, i) => beta * v + (1 - beta) * Math.abs(I[i]! - ipt[i]!));
  }
  return ipt.map((v, i) => v * unc[i]!);
}

const rand = (n: number, seed: number) =>
  Array.from(tf.randomNormal([n], 0, 1, 'float32', seed).dataSync());

describe('importance, scores, budget', () => {
  it('Ī, Ū and the triplet scores match the formulas', () => {
    const r = 4;
    const shapes = { q: [r, 5], e: [r, 1], p: [3, r] } as const;
    const imp = new Importance(
      new Map(Object.entries(shapes).map(([k, s]) => [k, [...s]])),
      0.85,
      0.85,
    );
    const history: Record<string, { w: number[][]; g: number[][] }> = {
      q: { w: [], g: [] },
      e: { w: [], g: [] },
      p: { w: [], g: [] },
    };
    for (let t = 0; t < 3; t++) {
      for (const [k, shape] of Object.entries(shapes)) {
        const n = shape[0] * shape[1];
        const w = rand(n, 10 * t + k.charCodeAt(0));
        const g = rand(n, 100 * t + k.charCodeAt(0));
        history[k]!.w.push(w);
        history[k]!.g.push(g);
        const [wt, gt] = [tf.tensor(w, [...shape]), tf.tensor(g, [...shape])];
        imp.update(k, wt, gt);
        tf.dispose([wt, gt]);
      }
    }
    const s = (k: string) => directImportance(history[k]!.w, history[k]!.g, 0.85);
    for (const k of Object.keys(shapes)) {
      const got = imp.score(k);
      expect(relativeError(got.dataSync(), s(k))).toBeLessThan(1e-5);
      got.dispose();
    }
    const sq = s('q');
    const se = s('e');
    const sp = s('p');
    const expected = Array.from({ length: r }, (_, i) => {
      const rowQ = sq.slice(i * 5, i * 5 + 5).reduce((a, b) => a + b, 0) / 5;
      const colP = [0, 1, 2].reduce((a, o) => a + sp[o * r + i]!, 0) / 3;
      return se[i]! + rowQ + colP;
    });
    const scores = tf.tidy(() =>
      tripletScores(
        imp.score('q') as Tensor2D,
        imp.score('e') as Tensor2D,
        imp.score('p') as Tensor2D,
      ),
    );
    expect(relativeError(scores.dataSync(), expected)).toBeLessThan(1e-5);
    scores.dispose();
    imp.dispose();
  });

  it('the budget follows the cubic schedule and the lowest triplets are pruned', () => {
    const s = budgetSchedule({ ...ADALORA_DEFAULTS, tinit: 10, tfinal: 30, deltaT: 10 }, 100, 3);
    expect(s).toMatchObject({ initBudget: 36, targetBudget: 24 });
    const direct = (t: number) => Math.floor(12 * (1 - (t - 10) / (100 - 30 - 10)) ** 3 + 24);
    expect(budgetAt(s, 5)).toEqual({ budget: 36, prune: false });
    expect(budgetAt(s, 10)).toEqual({ budget: 36, prune: false });
    expect(budgetAt(s, 11)).toEqual({ budget: direct(11), prune: false });
    expect(budgetAt(s, 20)).toEqual({ budget: direct(20), prune: true });
    // Halfway: 12·(1/2)³ + 24 = 25.5.
    expect(budgetAt(s, 40)).toEqual({ budget: 25, prune: true });
    expect(budgetAt(s, 45).prune).toBe(false);
    expect(budgetAt(s, 70)).toEqual({ budget: 24, prune: true });
    expect(budgetAt(s, 99)).toEqual({ budget: 24, prune: true });
    // Defaults: 10% and 30% of the steps.
    expect(budgetSchedule(ADALORA_DEFAULTS, 50, 2)).toMatchObject({ tinit: 5, tfinal: 15 });
    expect(() => budgetSchedule({ ...ADALORA_DEFAULTS, tinit: 60, tfinal: 40 }, 100, 1)).toThrow(
      /no steps/,
    );

    const keep = pruneLowest(
      [
        [0.5, 0.1, 0.9],
        [0.05, 0.7, 0.1],
      ],
      3,
    );
    // The lowest three: 0.05, then the two 0.1s (the earlier matrix's first).
    expect(keep).toEqual([
      [true, false, true],
      [false, true, false],
    ]);
  });

  it('the allocator prunes, over all matrices, the triplets a direct ranking picks', async () => {
    const params = new Params();
    const specs: LinearSpec[] = [
      { name: 'a', inFeatures: 5, outFeatures: 4, bias: false, layout: 'out-in' },
      { name: 'b', inFeatures: 3, outFeatures: 6, bias: false, layout: 'out-in' },
    ];
    const options = { ...ADALORA_DEFAULTS, initR: 4, targetR: 2, tinit: 1, tfinal: 2, deltaT: 1 };
    const model: AdaLoraModel = addAdaLoraParams(params, specs, options, 8, 3);
    for (const s of specs) {
      const e = params.get(adaE(s.name));
      e.assign(tf.randomNormal(e.shape, 0, 1, 'float32', 7));
    }
    const allocator = new AdaLoraAllocator(params, model, 6);
    const { observe } = allocator.hooks();
    const history = new Map<string, { w: number[][]; g: number[][] }>();
    const patterns: boolean[][][] = [];
    for (let step = 1; step <= 6; step++) {
      const grads = new Map<string, Tensor>();
      for (const s of specs)
        for (const n of [adaQ(s.name), adaE(s.name), adaP(s.name)]) {
          const v = params.get(n);
          const g = tf.randomNormal(v.shape, 0, 1, 'float32', step * 31 + n.length);
          grads.set(n, g);
          if (step <= 4) {
            const h = history.get(n) ?? { w: [], g: [] };
            h.w.push(Array.from(v.dataSync()));
            h.g.push(Array.from(g.dataSync()));
            history.set(n, h);
          }
        }
      observe!(grads);
      tf.dispose([...grads.values()]);
      await allocator.afterStep();
      patterns.push([...model.modules.values()].map((m) => [...m.pattern]));
    }
    // Budget 8 → 4 over steps 2..4 (T − tfinal = 4): b(2) = ⌊4·(2/3)³ + 4⌋ = 5, b(3) = 4.
    expect(patterns[0]!.flat().filter(Boolean)).toHaveLength(8);
    expect(patterns[1]!.flat().filter(Boolean)).toHaveLength(5);
    expect(patterns[2]!.flat().filter(Boolean)).toHaveLength(4);
    // The final pattern (step 4) from the scores of steps 1..4, ranked directly.
    const scoreOf = (m: LinearSpec) => {
      const sq = directImportance(history.get(adaQ(m.name))!.w, history.get(adaQ(m.name))!.g, 0.85);
      const se = directImportance(history.get(adaE(m.name))!.w, history.get(adaE(m.name))!.g, 0.85);
      const sp = directImportance(history.get(adaP(m.name))!.w, history.get(adaP(m.name))!.g, 0.85);
      return Array.from({ length: 4 }, (_, i) => {
        let q = 0;
        for (let c = 0; c < m.inFeatures; c++) q += sq[i * m.inFeatures + c]!;
        let p = 0;
        for (let o = 0; o < m.outFeatures; o++) p += sp[o * 4 + i]!;
        return se[i]! + q / m.inFeatures + p / m.outFeatures;
      });
    };
    const ranked = specs
      .flatMap((m, k) => scoreOf(m).map((score, i) => ({ score, k, i })))
      .sort((x, y) => x.score - y.score);
    const expected = specs.map(() => [true, true, true, true]);
    for (const { k, i } of ranked.slice(0, 4)) expected[k]![i] = false;
    expect(patterns[3]).toEqual(expected);
    // Fixed from T − tfinal on, and the pruned λ are zero.
    expect(patterns[5]).toEqual(expected);
    for (const [k, s] of specs.entries()) {
      const e = params.get(adaE(s.name)).dataSync();
      expected[k]!.forEach((keep, i) => expect(keep || e[i] === 0).toBe(true));
    }
    allocator.dispose();
    disposeAdaLora(model);
    params.dispose();
  });
});

describe('orthogonality regulariser', () => {
  it('its value and gradient match ‖QQᵀ−I‖_F, ‖PᵀP−I‖_F and their finite differences', async () => {
    const params = new Params();
    const specs: LinearSpec[] = [
      { name: 'a', inFeatures: 5, outFeatures: 4, bias: false, layout: 'out-in' },
      { name: 'b', inFeatures: 3, outFeatures: 6, bias: false, layout: 'out-in' },
    ];
    const model = addAdaLoraParams(params, specs, { ...ADALORA_DEFAULTS, initR: 3 }, 8, 4);
    for (const [i, s] of specs.entries())
      for (const n of [adaQ(s.name), adaP(s.name)]) {
        const v = params.get(n);
        v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 20 + i + n.length));
      }
    const weight = 0.5;
    const reg = orthRegularizer(params, model, weight);
    // Float64 reference: w / (2M) Σ over the 2M matrices of the Frobenius norms.
    const values = new Map(
      [...params.entries()].map(([n, v]) => [
        n,
        { data: Array.from(v.dataSync()), shape: v.shape },
      ]),
    );
    const frob = (data: number[], [rows, cols]: number[], gramOfRows: boolean) => {
      const n = gramOfRows ? rows! : cols!;
      let sum = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let dot = 0;
          if (gramOfRows)
            for (let c = 0; c < cols!; c++) dot += data[i * cols! + c]! * data[j * cols! + c]!;
          else for (let r = 0; r < rows!; r++) dot += data[r * cols! + i]! * data[r * cols! + j]!;
          sum += (dot - (i === j ? 1 : 0)) ** 2;
        }
      return Math.sqrt(sum);
    };
    const direct = () =>
      (weight / (2 * specs.length)) *
      specs.reduce((s, m) => {
        const q = values.get(adaQ(m.name))!;
        const p = values.get(adaP(m.name))!;
        return s + frob(q.data, q.shape, true) + frob(p.data, p.shape, false);
      }, 0);
    expect(Math.abs((await reg.value()) - direct()) / direct()).toBeLessThan(1e-5);
    expect(reg.gradient(adaE('a'))).toBeUndefined();
    const h = 1e-5;
    for (const s of specs)
      for (const n of [adaQ(s.name), adaP(s.name)]) {
        const g = reg.gradient(n)!;
        const analytic = Array.from(g.dataSync());
        g.dispose();
        const entry = values.get(n)!;
        const numeric = entry.data.map((x, i) => {
          entry.data[i] = x + h;
          const plus = direct();
          entry.data[i] = x - h;
          const minus = direct();
          entry.data[i] = x;
          return (plus - minus) / (2 * h);
        });
        expect(relativeError(analytic, numeric), n).toBeLessThan(1e-4);
      }
    disposeAdaLora(model);
    params.dispose();
  });
});
