import { describe, expect, it } from 'vitest';
import { learningRate, type Schedule } from './schedule.js';

describe('learning-rate schedules', () => {
  const base = { lr: 1e-3, warmup: 10, steps: 110 };
  it('warms up linearly, then holds, decays linearly, or follows a cosine', () => {
    const constant: Schedule = { ...base, kind: 'constant' };
    expect(learningRate(constant, 1)).toBeCloseTo(1e-4, 12);
    expect(learningRate(constant, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRate(constant, 100)).toBe(1e-3);
    const linear: Schedule = { ...base, kind: 'linear' };
    expect(learningRate(linear, 60)).toBeCloseTo(5e-4, 12);
    expect(learningRate(linear, 110)).toBe(0);
    const cosine: Schedule = { ...base, kind: 'cosine', minLrRatio: 0.1 };
    expect(learningRate(cosine, 60)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRate(cosine, 110)).toBeCloseTo(1e-4, 12);
    expect(learningRate(cosine, 500)).toBeCloseTo(1e-4, 12); // past the end stays at the floor
  });

  it('without warmup starts at the full rate', () => {
    expect(learningRate({ kind: 'linear', lr: 2, warmup: 0, steps: 4 }, 1)).toBe(1.5);
  });
});
