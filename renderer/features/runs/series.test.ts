// Chart data shaping: events fold into points, resumes replace repeated steps, long runs
// downsample to a bounded size, smoothing follows the slider, runs merge on one axis.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../main/contract.js';
import { applyEvents, deviceRows, downsample, emptySeries, mergeRuns, smooth } from './series.js';

const step = (n: number, loss: number, extra: Record<string, unknown> = {}): RunEvent => ({
  type: 'step',
  step: n,
  loss,
  lr: 0.01,
  tokensPerSec: 100,
  tokens: 10,
  memory: { liveBytes: 1000 + n, peakBytes: 2000 + n },
  elapsedMs: n * 10,
  etaMs: 100 - n,
  ...extra,
});

describe('device memory', () => {
  it('keeps each step’s device figure and its source; the peak is the running maximum', () => {
    const dev = (n: number, bytes: number) =>
      step(n, 1, {
        memory: { liveBytes: 1, peakBytes: 2, deviceBytes: bytes, deviceSource: 'wasm-heap' },
      });
    const s = applyEvents(emptySeries(), [dev(1, 500), dev(2, 900), dev(3, 700)]);
    expect(s.deviceSource).toBe('wasm-heap');
    expect(s.peakDeviceBytes).toBe(900);
    expect(deviceRows(s.steps)).toEqual([
      { step: 1, now: 500, peak: 500 },
      { step: 2, now: 900, peak: 900 },
      { step: 3, now: 700, peak: 900 },
    ]);
    // Older runs without the figure chart nothing.
    expect(deviceRows(applyEvents(emptySeries(), [step(1, 1)]).steps)).toEqual([]);
    expect(applyEvents(emptySeries(), [step(1, 1)]).deviceSource).toBeUndefined();
  });
});

describe('applyEvents', () => {
  it('folds steps and evals, and tracks the peak', () => {
    const s = applyEvents(emptySeries(), [
      step(1, 3, { gradNorm: 2 }),
      { type: 'checkpoint', step: 1, path: 'x' },
      step(2, 2.5, { projectedGrad: -4 }),
      { type: 'eval', step: 2, loss: 2.7, perplexity: 14, tokens: 5 },
    ]);
    expect(s.steps.map((p) => [p.step, p.loss, p.grad])).toEqual([
      [1, 3, 2],
      [2, 2.5, 4],
    ]);
    expect(s.evals).toEqual([{ step: 2, loss: 2.7 }]);
    expect(s.peakBytes).toBe(2002);
  });

  it('replaces the steps a resumed run repeats, and leaves the input untouched', () => {
    const first = applyEvents(emptySeries(), [step(1, 3), step(2, 2), step(3, 1.5)]);
    const resumed = applyEvents(first, [step(2, 2.1), step(3, 1.6), step(4, 1.2)]);
    expect(resumed.steps.map((p) => [p.step, p.loss])).toEqual([
      [1, 3],
      [2, 2.1],
      [3, 1.6],
      [4, 1.2],
    ]);
    expect(first.steps).toHaveLength(3);
  });

  it('returns the same object when nothing chartable arrived', () => {
    const s = emptySeries();
    expect(applyEvents(s, [{ type: 'log', message: 'hi' }])).toBe(s);
  });
});

describe('downsample', () => {
  it('keeps a 100k-step run to the bucket count, averaging, with the last point exact', () => {
    const points = Array.from({ length: 100_000 }, (_, i) => ({ step: i + 1, loss: i % 2 }));
    const out = downsample(points, 500);
    expect(out.length).toBeLessThanOrEqual(500);
    expect(out.length).toBeGreaterThan(450);
    expect(out[0]!.loss).toBeCloseTo(0.5);
    expect(out[out.length - 1]).toEqual({ step: 100_000, loss: 1 });
    const steps = out.map((p) => p.step);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  it('leaves short series alone', () => {
    const points = [{ step: 1, loss: 2 }];
    expect(downsample(points, 10)).toBe(points);
  });
});

describe('smooth', () => {
  it('is the identity at 0 and a debiased EMA above', () => {
    const points = [
      { step: 1, loss: 4 },
      { step: 2, loss: 2 },
    ];
    expect(smooth(points, 'loss', 0)).toBe(points);
    const out = smooth(points, 'loss', 0.5);
    expect(out[0]!.loss).toBeCloseTo(4); // debiased: the first value unchanged
    expect(out[1]!.loss).toBeCloseTo((0.5 * 0.5 * 4 + 0.5 * 2) / 0.75);
  });
});

describe('mergeRuns', () => {
  it('puts several runs on one step axis', () => {
    const rows = mergeRuns([
      {
        id: 'a',
        points: [
          { step: 1, loss: 3 },
          { step: 2, loss: 2 },
        ],
      },
      { id: 'b', points: [{ step: 2, loss: 2.5 }] },
    ]);
    expect(rows).toEqual([
      { step: 1, a: 3 },
      { step: 2, a: 2, b: 2.5 },
    ]);
  });
});
