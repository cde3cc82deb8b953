import { describe, expect, it } from 'vitest';
import { tf } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import { maskRow, mlmBatch } from './mlm-masking.js';

const masking = { maskTokenId: 3, vocabSize: 50, specialIds: new Set([0, 1, 2, 3]) };

describe('masked-LM corruption', () => {
  it('chooses 15% of ordinary tokens: 80% <mask>, 10% random, 10% kept; labels are the originals', () => {
    const rng = new Rng(11);
    const row = Array.from({ length: 20000 }, (_, i) => (i % 10 === 0 ? 0 : 4 + (i % 40)));
    const { input, labels, mask } = maskRow(row, masking, rng);
    expect(labels).toEqual(row);
    let chosen = 0;
    let masked = 0;
    let kept = 0;
    for (let t = 0; t < row.length; t++) {
      if (row[t] === 0) {
        expect(mask[t], 'special tokens are never chosen').toBe(0);
        expect(input[t]).toBe(0);
        continue;
      }
      if (!mask[t]) {
        expect(input[t]).toBe(row[t]);
        continue;
      }
      chosen++;
      if (input[t] === 3) masked++;
      else if (input[t] === row[t]) kept++;
    }
    const ordinary = row.filter((id) => id !== 0).length;
    expect(chosen / ordinary).toBeGreaterThan(0.14);
    expect(chosen / ordinary).toBeLessThan(0.16);
    expect(masked / chosen).toBeGreaterThan(0.77);
    expect(masked / chosen).toBeLessThan(0.83);
    // Kept: the 10% left alone plus random draws that hit the same id (1 in 50).
    expect(kept / chosen).toBeGreaterThan(0.08);
    expect(kept / chosen).toBeLessThan(0.13);
  });

  it('a batch carries the labels, pads on the right and counts every marked position', async () => {
    const rows = [
      [0, 10, 11, 12, 13, 14, 15, 16, 2],
      [0, 20, 21, 2],
    ];
    const batch = mlmBatch(rows, 10, 1, { ...masking, rate: 1 }, new Rng(2));
    const mask = await batch.mask.array();
    expect(mask).toEqual([
      [0, 1, 1, 1, 1, 1, 1, 1, 0, 0],
      [0, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(batch.targets).toBe(9);
    expect((await batch.labels!.array())[1]).toEqual([0, 20, 21, 2, 0, 0, 0, 0, 0, 0]);
    expect((await batch.ids.array())[1]!.slice(4)).toEqual([1, 1, 1, 1, 1, 1]);
    tf.dispose([batch.ids, batch.mask, batch.labels!]);
  });
});
