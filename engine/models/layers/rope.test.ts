import { describe, expect, it } from 'vitest';
import { tf } from '../../backend/tf.js';
import { Rng } from '../../util/rng.js';
import {
  applyRotary,
  inverseFrequencies,
  parseRopeScaling,
  rotaryTables,
  type RopeConfig,
} from './rope.js';

const cfg: RopeConfig = { headDim: 8, theta: 10000, maxPositions: 64 };

describe('rotary embeddings', () => {
  it('rotate each (i, i + D/2) pair by position x frequency, as a complex product', async () => {
    const [t, d, half] = [5, 8, 4];
    const values = new Rng(1).normals(t * d);
    const x = tf.tensor4d(values, [1, 1, t, d]);
    const offset = 3;
    const { cos, sin } = rotaryTables(cfg, offset, t);
    const out = (await applyRotary(x, cos, sin).data()) as Float32Array;
    const inv = inverseFrequencies(cfg, offset + t);
    for (let pos = 0; pos < t; pos++) {
      for (let i = 0; i < half; i++) {
        const angle = (offset + pos) * inv[i]!;
        const [re, im] = [values[pos * d + i]!, values[pos * d + half + i]!];
        expect(out[pos * d + i]).toBeCloseTo(re * Math.cos(angle) - im * Math.sin(angle), 5);
        expect(out[pos * d + half + i]).toBeCloseTo(re * Math.sin(angle) + im * Math.cos(angle), 5);
      }
    }
  });

  it('linear scaling divides every frequency by the factor', () => {
    const plain = inverseFrequencies(cfg, 10);
    const scaled = inverseFrequencies({ ...cfg, scaling: { type: 'linear', factor: 4 } }, 10);
    plain.forEach((f, i) => expect(scaled[i]).toBeCloseTo(f / 4, 10));
  });

  it('llama3 scaling keeps short wavelengths, divides long ones, blends between', () => {
    const scaling = parseRopeScaling(
      {
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 32,
      },
      'config.json',
    );
    const wide = { headDim: 64, theta: 500000, maxPositions: 256 };
    const plain = inverseFrequencies(wide, 10);
    const scaled = inverseFrequencies({ ...wide, scaling }, 10);
    plain.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 32 / 4) expect(scaled[i]).toBeCloseTo(f, 10);
      else if (wavelen > 32) expect(scaled[i]).toBeCloseTo(f / 8, 10);
      else {
        expect(scaled[i]).toBeLessThanOrEqual(f);
        expect(scaled[i]).toBeGreaterThanOrEqual(f / 8);
      }
    });
  });

  it('unknown scaling kinds are refused by name', () => {
    expect(() => parseRopeScaling({ rope_type: 'yarn', factor: 4 }, 'config.json')).toThrow(/yarn/);
    expect(parseRopeScaling(null, 'config.json')).toBeUndefined();
  });
});
