import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const x = new Rng(1);
    const y = new Rng(1);
    const z = new Rng(2);
    const xs = Array.from({ length: 8 }, () => x.nextUint32());
    expect(xs).toEqual(Array.from({ length: 8 }, () => y.nextUint32()));
    expect(xs).not.toEqual(Array.from({ length: 8 }, () => z.nextUint32()));
  });

  it('uniforms are uniform and normals are standard normal', () => {
    const rng = new Rng(42);
    const n = 200_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += rng.uniform();
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    const values = rng.normals(n);
    const mean = values.reduce((s, v) => s + v, 0) / n;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const beyond2 = values.filter((v) => Math.abs(v) > 2).length / n;
    expect(Math.abs(mean)).toBeLessThan(0.01); // ~4.5 standard errors
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    expect(Math.abs(beyond2 - 0.0455)).toBeLessThan(0.003); // two-sided tail of N(0, 1)
  });
});
