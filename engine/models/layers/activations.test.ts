// The hand-written activation slopes against tfjs's autodiff of the plain formulas.
import { beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../../backend/memory.js';
import { initBackend } from '../../backend/select.js';
import { tf, type Tensor } from '../../backend/tf.js';
import { Rng } from '../../util/rng.js';
import { activationByName } from './activations.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const plain: Record<string, (x: Tensor) => Tensor> = {
  gelu_new: (x) =>
    tf.mul(
      tf.mul(x, 0.5),
      tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1),
    ),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
};

describe.each(Object.keys(plain))('%s', (name) => {
  it('value and gradient match the plain formula, and backward keeps only the input', async () => {
    const x = tf.tensor(new Rng(3).normals(257, 3));
    const act = activationByName(name, 'test');
    const [ours, reference] = [act, plain[name]!].map((f) =>
      tf.valueAndGrad((v: Tensor) => tf.sum(f(v)))(x),
    );
    const close = async (a: Tensor, b: Tensor) => {
      const [u, v] = [await a.data(), await b.data()];
      for (let i = 0; i < u.length; i++) expect(u[i]).toBeCloseTo(v[i]!, 5);
    };
    await close(ours!.value, reference!.value);
    await close(ours!.grad, reference!.grad);
    // Under the tape, the forward keeps only its input and output, not the formula's pieces.
    const tapedForward = (f: (v: Tensor) => Tensor) => {
      const start = memory.liveBytes;
      let kept = 0;
      const { value, grads } = tf.engine().gradients(() => {
        const y = tf.sum(f(x));
        kept = memory.liveBytes - start;
        return y;
      }, [x]);
      value.dispose();
      grads.forEach((g) => g.dispose());
      return kept;
    };
    expect(tapedForward(act)).toBeLessThan(tapedForward(plain[name]!) / 1.5);
  });
});
