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

  it('llama3 scaling at Llama-3.2-1B’s settings gives the values the formula gives by hand', () => {
    // head_dim 64, theta 5e5, factor 32, low 1, high 4, original 8192. Frequency 16 is 1/sqrt(5e5)
    // with wavelength 2π·707.1 = 4442.9, inside [2048, 8192]: smooth = (8192/4442.9 − 1)/3 =
    // 0.28128, so 0.0014142·((1 − 0.28128)/32 + 0.28128) = 4.29557e-4.
    const scaling = parseRopeScaling(
      {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
      'config.json',
    );
    const inv = inverseFrequencies(
      { headDim: 64, theta: 500000, maxPositions: 131072, scaling },
      1,
    );
    expect(inv[0]).toBe(1); // wavelength 2π: kept
    expect(inv[16]! / 4.2955679655936815e-4).toBeCloseTo(1, 6); // blended
    expect(inv[31]! / 9.41830672543491e-8).toBeCloseTo(1, 6); // wavelength 2.08e6: divided by 32
  });

  it('unknown scaling kinds are refused by name', () => {
    expect(() => parseRopeScaling({ rope_type: 'yarn', factor: 4 }, 'config.json')).toThrow(/yarn/);
    expect(parseRopeScaling(null, 'config.json')).toBeUndefined();
  });
});
