import { describe, expect, it } from 'vitest';
import { defaultLr } from '../../common/defaults.js';
import { jobSpecSchema, type JobSpec } from '../protocol.js';
import {
  expandGrid,
  SWEEP_METHODS,
  SWEEP_SCHEMES,
  sweepOptionsOf,
  tableShape,
  type SweepOptions,
} from './grid.js';

const base: SweepOptions = {
  model: 'm',
  data: 'd.jsonl',
  out: 'sw',
  methods: ['zo-sgd', 'fo-adamw'],
  schemes: ['full', 'lora'],
  seeds: 2,
  ablateTemplate: false,
};

const sweepSpec = (fields: Record<string, unknown>) =>
  jobSpecSchema.parse({ kind: 'sweep', model: 'm', data: 'd', out: 'o', ...fields }) as Extract<
    JobSpec,
    { kind: 'sweep' }
  >;

describe('expandGrid', () => {
  it('gives one train spec per method × scheme × seed, rows first, each in its own folder', () => {
    const cells = expandGrid(base);
    expect(cells.map((c) => c.key)).toEqual([
      'zo-sgd.full.seed0',
      'zo-sgd.full.seed1',
      'zo-sgd.lora.seed0',
      'zo-sgd.lora.seed1',
      'fo-adamw.full.seed0',
      'fo-adamw.full.seed1',
      'fo-adamw.lora.seed0',
      'fo-adamw.lora.seed1',
    ]);
    const spec = cells[2]!.spec;
    expect(spec).toMatchObject({
      kind: 'train',
      method: 'zo-sgd',
      peft: 'lora',
      seed: 0,
      steps: 400,
      lr: defaultLr('zo-sgd', 'lora'),
      schedule: 'constant',
      evalEvery: 100,
      evalFraction: 0.2,
      checkpointEvery: 200,
      out: 'sw/runs/zo-sgd.lora.seed0',
    });
    expect(cells[4]!.spec).toMatchObject({ steps: 40, schedule: 'linear', lr: 1e-4 });
    expect(spec.noTemplate).toBeUndefined();
  });

  it('doubles the grid with the template ablation and leaves out pairs that cannot train', () => {
    const cells = expandGrid({
      ...base,
      methods: ['lomo', 'zo-sgd'],
      schemes: ['prompt', 'full'],
      seeds: 1,
      ablateTemplate: true,
    });
    expect(cells.map((c) => c.key)).toEqual([
      'lomo.full.seed0',
      'lomo.full.seed0.no-template',
      'zo-sgd.prompt.seed0',
      'zo-sgd.prompt.seed0.no-template',
      'zo-sgd.full.seed0',
      'zo-sgd.full.seed0.no-template',
    ]);
    expect(cells[1]!.spec.noTemplate).toBe(true);
    const shape = tableShape({
      methods: ['lomo', 'zo-sgd'],
      schemes: ['prompt'],
      ablateTemplate: true,
    });
    expect(Object.keys(shape.notApplicable)).toEqual(['lomo/prompt']);
  });

  it('takes steps and learning rates for all methods or per method', () => {
    const all = sweepOptionsOf(sweepSpec({ methods: 'zo-sgd,fo-sgd', steps: '12', lr: '0.5' }));
    expect(all).toMatchObject({ steps: { 'zo-sgd': 12, 'fo-sgd': 12 }, lr: { 'zo-sgd': 0.5 } });
    const some = sweepOptionsOf(sweepSpec({ methods: 'zo-sgd,fo-sgd', steps: 'zo-sgd=30' }));
    const cells = expandGrid({ ...some, schemes: ['full'], seeds: 1 });
    expect(cells.map((c) => c.spec.steps)).toEqual([30, 40]);
  });

  it('takes a learning rate per method and scheme, which wins over the method’s', () => {
    const o = sweepOptionsOf(
      sweepSpec({
        methods: 'zo-sgd,fo-sgd',
        peft: 'full,lora,prompt',
        lr: 'zo-sgd=1e-4,zo-sgd/lora=5e-4',
      }),
    );
    const lr = Object.fromEntries(expandGrid({ ...o, seeds: 1 }).map((c) => [c.key, c.spec.lr]));
    expect(lr).toMatchObject({
      'zo-sgd.full.seed0': 1e-4,
      'zo-sgd.lora.seed0': 5e-4,
      'zo-sgd.prompt.seed0': 1e-4,
      'fo-sgd.lora.seed0': defaultLr('fo-sgd', 'lora'),
    });
    expect(() => sweepOptionsOf(sweepSpec({ lr: 'zo-sgd/dora=1e-3' }))).toThrow(
      /"zo-sgd\/dora" is not one of the sweep's methods \(or method\/scheme\)/,
    );
    expect(() => sweepOptionsOf(sweepSpec({ steps: 'zo-sgd/lora=3' }))).toThrow(/"zo-sgd\/lora"/);
  });

  it('defaults to ZO-Bench’s eight optimizers and four schemes', () => {
    const o = sweepOptionsOf(sweepSpec({}));
    expect(o.methods).toEqual([...SWEEP_METHODS]);
    expect(o.schemes).toEqual([...SWEEP_SCHEMES]);
    expect(expandGrid(o)).toHaveLength(32);
  });

  it('names what is wrong with the lists', () => {
    expect(() => sweepOptionsOf(sweepSpec({ peft: 'full,dora' }))).toThrow(
      /--peft full,dora: unknown dora/,
    );
    expect(() => sweepOptionsOf(sweepSpec({ methods: 'zo-sgd', steps: 'fo-sgd=3' }))).toThrow(
      /"fo-sgd" is not one of the sweep's methods/,
    );
    expect(() => sweepOptionsOf(sweepSpec({ steps: '2.5' }))).toThrow(
      /not a positive whole number/,
    );
    expect(() => expandGrid({ ...base, seeds: 0 })).toThrow(/--seeds 0/);
  });
});
