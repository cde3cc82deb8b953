import { describe, expect, it } from 'vitest';
import {
  defaultTargetLoss,
  formatCell,
  smoothedLosses,
  stepsToLoss,
  summarize,
  sweepTables,
  toCsv,
  toMarkdown,
  type CellRecord,
} from './sweep-table.js';

const record = (o: Partial<CellRecord> & Pick<CellRecord, 'method' | 'scheme'>): CellRecord => ({
  key: `${o.method}.${o.scheme}.seed${o.seed ?? 0}`,
  seed: 0,
  template: true,
  status: 'finished',
  losses: [],
  ...o,
});

describe('sweep tables', () => {
  it('puts the untuned model first: one zero-shot value per seed from full or LoRA cells', () => {
    const shape = {
      methods: ['zo-sgd'],
      schemes: ['full', 'prompt'],
      ablateTemplate: false,
      notApplicable: {},
    };
    const records = [
      record({ method: 'zo-sgd', scheme: 'full', accuracy: 0.7, startAccuracy: 0.5 }),
      record({ method: 'zo-sgd', scheme: 'full', seed: 1, accuracy: 0.8, startAccuracy: 0.6 }),
      // A prompt cell starts with its virtual tokens: not the untuned model.
      record({ method: 'zo-sgd', scheme: 'prompt', accuracy: 0.6, startAccuracy: 0.1 }),
    ];
    const acc = sweepTables(shape, records).tables[0]!;
    expect(acc.rows).toEqual(['zero-shot', 'zo-sgd']);
    expect(acc.cells[0]!.map((c) => formatCell(c, 'percent'))).toEqual([
      '55.0 ± 7.1',
      '55.0 ± 7.1',
    ]);
    expect(sweepTables(shape, records).tables[1]!.rows).toEqual(['zo-sgd']);
    const untold = records.map(({ startAccuracy: _, ...r }) => r);
    expect(sweepTables(shape, untold).tables[0]!.rows).toEqual(['zo-sgd']);
  });

  it('summarizes seeds as mean and sample standard deviation', () => {
    // Values 0.5, 0.7, 0.9: mean 0.7, sample variance (0.04 + 0 + 0.04) / 2 = 0.04.
    const s = summarize([0.5, 0.7, 0.9]);
    expect(s.mean).toBeCloseTo(0.7, 12);
    expect(s.std).toBeCloseTo(0.2, 12);
    expect(formatCell(s, 'percent')).toBe('70.0 ± 20.0');
    expect(formatCell(summarize([0.25]), 'percent')).toBe('25.0');
  });

  it('smooths losses over a tenth of the run before finding the first step at the target', () => {
    const losses = Array.from({ length: 20 }, (_, i) => [i + 1, i % 2 ? 1 : 3] as [number, number]);
    // Window 2: every smoothed value after the first is 2.
    expect(smoothedLosses(losses).slice(0, 3)).toEqual([
      [1, 3],
      [2, 2],
      [3, 2],
    ]);
    expect(stepsToLoss(losses, 2)).toBe(2);
    expect(stepsToLoss(losses, 1.5)).toBeUndefined();
  });

  it('lays methods out as rows and schemes as columns, with notes for cells without numbers', () => {
    const shape = {
      methods: ['zo-sgd', 'lomo'],
      schemes: ['full', 'prompt'],
      ablateTemplate: false,
      notApplicable: { 'lomo/prompt': 'no weights' },
    };
    const down = (from: number): [number, number][] => [
      [1, from],
      [2, from - 1],
      [3, from - 2],
    ];
    const records = [
      record({
        method: 'zo-sgd',
        scheme: 'full',
        accuracy: 0.6,
        losses: down(5),
        peakBytes: 2 ** 20,
      }),
      record({
        method: 'zo-sgd',
        scheme: 'full',
        seed: 1,
        accuracy: 0.8,
        losses: down(6),
        peakBytes: 2 ** 20,
      }),
      record({ method: 'zo-sgd', scheme: 'prompt', status: 'failed', note: 'diverged' }),
      record({ method: 'lomo', scheme: 'full', status: 'does-not-fit', note: 'too big' }),
    ];
    // Finished runs end (smoothed over 1 step) at 3 and 4: the median is 3.5.
    expect(defaultTargetLoss(records)).toBe(3.5);
    // A run whose loss did not fall sets no level; with none that fell there is no target.
    const flat = record({
      method: 'zo-sgd',
      scheme: 'full',
      losses: [
        [1, 2],
        [2, 2.5],
      ],
    });
    expect(defaultTargetLoss([...records, flat])).toBe(3.5);
    expect(defaultTargetLoss([flat])).toBeUndefined();
    expect(sweepTables(shape, [flat]).tables.map((t) => t.title)).not.toContain(
      expect.stringMatching(/^Steps to/),
    );
    const tables = sweepTables(shape, records);
    expect(tables.metric).toBe('accuracy');
    const md = toMarkdown(tables);
    expect(md).toContain('### Accuracy on held-out rows (%, mean ± std over 2 seeds)');
    expect(md).toContain('| zo-sgd | 70.0 ± 14.1 | failed |');
    expect(md).toContain('| lomo | does not fit | n/a |');
    expect(md).toContain('| zo-sgd | 1.0 MiB ± 0.0 MiB | failed |');
    expect(md).toContain('| zo-sgd | — | failed |'); // finished, but no step times recorded
    expect(md).toContain('### Steps to a training loss of 3.500 (smoothed)');
    // Seed 0 reaches 3.5 at step 2 (loss 4 > 3.5 … 3): step 3; seed 1 never does.
    expect(md).toContain('| zo-sgd | 3 (1/2 seeds) | failed |');
    const csv = toCsv(tables).split('\n');
    expect(csv[0]).toBe('table,method,full,prompt');
    expect(csv[1]).toBe(
      '"Accuracy on held-out rows (%, mean ± std over 2 seeds)",zo-sgd,70.0 ± 14.1,failed',
    );
  });

  it('reports the held-out loss for data without classes, and template columns when ablating', () => {
    const shape = {
      methods: ['zo-sgd'],
      schemes: ['full'],
      ablateTemplate: true,
      notApplicable: {},
    };
    const tables = sweepTables(shape, [
      record({ method: 'zo-sgd', scheme: 'full', evalLoss: 2.5 }),
      record({ method: 'zo-sgd', scheme: 'full', template: false, status: 'unfinished' }),
    ]);
    expect(tables.metric).toBe('eval loss');
    expect(toMarkdown(tables)).toContain('| zo-sgd | 2.500 | unfinished |');
    expect(tables.tables[0]!.columns.map((c) => c.label)).toEqual([
      'full (template)',
      'full (no template)',
    ]);
  });
});
