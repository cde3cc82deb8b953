// tfjs's gradients of every kernel training uses, against central finite differences on cpu.
import { beforeAll, describe, expect, it } from 'vitest';
import { caseLoss, drawInputs, opCases, relativeError, runCase } from './op-cases.js';
import { tf } from './tf.js';

const EPS = 1e-2;
const TOLERANCE = 2e-3;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** d loss / d input[k] by central differences, one element at a time. */
async function numericGradient(
  c: (typeof opCases)[number],
  values: Float32Array[],
  k: number,
): Promise<Float32Array> {
  const out = new Float32Array(values[k]!.length);
  for (let j = 0; j < out.length; j++) {
    const shifted = (delta: number) =>
      values.map((v, i) => (i === k ? v.map((x, m) => (m === j ? x + delta : x)) : v));
    out[j] = ((await caseLoss(c, shifted(EPS))) - (await caseLoss(c, shifted(-EPS)))) / (2 * EPS);
  }
  return out;
}

describe('gradients', () => {
  it.each(opCases.map((c) => [c.name, c] as const))(
    '%s matches finite differences',
    async (_name, c) => {
      const values = drawInputs(c, 7);
      const { grads } = await runCase(c, values);
      for (let k = 0; k < values.length; k++) {
        const numeric = await numericGradient(c, values, k);
        // tf.grads gives one gradient per input.
        const grad = grads[k]!;
        expect(
          relativeError(grad, numeric),
          `input ${k}: ${Array.from(grad).join(', ')} vs ${Array.from(numeric).join(', ')}`,
        ).toBeLessThan(TOLERANCE);
      }
    },
  );

  it('does not leak tensors', async () => {
    const before = tf.memory().numTensors;
    for (const c of opCases) await runCase(c, drawInputs(c, 3));
    expect(tf.memory().numTensors).toBe(before);
  });
});
