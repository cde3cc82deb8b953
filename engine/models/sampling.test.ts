import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { argmax, greedy, pickToken } from './sampling.js';

const logits = Float32Array.from([1, 4, 2, 3.5, -1]);

function histogram(opts: Parameters<typeof pickToken>[1], draws = 4000): number[] {
  const rng = new Rng(9);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[pickToken(logits, opts, rng)]!++;
  return counts.map((c) => c / draws);
}

describe('sampling', () => {
  it('greedy picks the argmax', () => {
    expect(argmax(logits)).toBe(1);
    expect(pickToken(logits, greedy, new Rng(0))).toBe(1);
  });

  it('temperature 1 samples the softmax', () => {
    const z = Array.from(logits).reduce((s, x) => s + Math.exp(x), 0);
    const freq = histogram({ temperature: 1, topK: 0, topP: 1 });
    Array.from(logits).forEach((x, i) =>
      expect(Math.abs(freq[i]! - Math.exp(x) / z)).toBeLessThan(0.03),
    );
  });

  it('top-k keeps only the k most likely tokens', () => {
    const freq = histogram({ temperature: 1, topK: 2, topP: 1 });
    expect(freq[0]! + freq[2]! + freq[4]!).toBe(0);
    expect(freq[1]! + freq[3]!).toBeCloseTo(1, 10);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // p(4) = 0.51 and p(3.5) = 0.31 of the softmax: p = 0.6 needs both, and no more.
    const freq = histogram({ temperature: 1, topK: 0, topP: 0.6 });
    expect(freq[0]! + freq[2]! + freq[4]!).toBe(0);
    expect(freq[1]).toBeGreaterThan(freq[3]!);
  });

  it('a seed reproduces the draws', () => {
    const opts = { temperature: 2, topK: 0, topP: 1 };
    const a = new Rng(5);
    const b = new Rng(5);
    const drawsA = Array.from({ length: 50 }, () => pickToken(logits, opts, a));
    const drawsB = Array.from({ length: 50 }, () => pickToken(logits, opts, b));
    expect(drawsA).toEqual(drawsB);
  });
});
