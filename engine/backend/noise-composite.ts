// NoiseAxpy from stock tfjs ops, for backends without the custom kernel (tensorflow). The hash
// of engine/util/counter-rng.ts in int32 ops that wrap mod 2^32 like u32 arithmetic:
// - a ^ b = a + b - 2·(a & b);
// - a logical shift right is floorDiv(x, 2^s) & (2^(32-s) - 1);
// - a multiply by a 32-bit constant is split into 16-bit halves, so that no product exceeds 2^53
//   (the cpu backend computes int32 ops in double before wrapping).
// It holds several int32 temporaries the size of half the tensor: correct everywhere, lean only
// where the kernel exists.
import { MIX_A, MIX_B, streamKey, type NoiseTransform } from '../util/counter-rng.js';
import { tf, type Tensor } from './tf.js';

const int = (v: number) => tf.scalar(v | 0, 'int32');

const xor = (a: Tensor, b: Tensor) => tf.sub(tf.add(a, b), tf.mul(tf.bitwiseAnd(a, b), int(2)));

const shiftRight = (x: Tensor, s: number) =>
  tf.bitwiseAnd(tf.floorDiv(x, int(2 ** s)), tf.fill(x.shape, 2 ** (32 - s) - 1, 'int32'));

function mulConstant(x: Tensor, c: number): Tensor {
  const lo = c & 0xffff;
  const hi = c >>> 16;
  return tf.add(tf.mul(x, int(lo)), tf.mul(tf.mul(x, int(hi)), int(65536)));
}

function mix32(v: Tensor): Tensor {
  let x = xor(v, shiftRight(v, 16));
  x = mulConstant(x, MIX_A);
  x = xor(x, shiftRight(x, 15));
  x = mulConstant(x, MIX_B);
  return xor(x, shiftRight(x, 16));
}

/** Uniforms in (0, 1) for int32 counters `c` under `key`. */
function unitAt(c: Tensor, key: number): Tensor {
  const h = mix32(tf.add(mix32(tf.add(c, int(key))), int(key)));
  return tf.mul(tf.add(tf.cast(shiftRight(h, 8), 'float32'), 0.5), 2 ** -24);
}

export function noiseAxpyComposite(
  x: Tensor | undefined,
  a: number,
  b: number,
  seed: number,
  stream: number,
  transform: NoiseTransform,
  shape: number[],
): Tensor {
  return tf.tidy(() => {
    const n = shape.reduce((p, d) => p * d, 1);
    const pairs = Math.ceil(n / 2);
    const key = streamKey(seed, stream);
    const counters = tf.mul(tf.range(0, pairs, 1, 'int32'), int(2)); // [P]: 2j
    const r = tf.sqrt(tf.mul(tf.log(unitAt(counters, key)), -2));
    const theta = tf.sub(tf.mul(unitAt(tf.add(counters, int(1)), key), 2 * Math.PI), Math.PI);
    const pairsOut = tf.stack([tf.mul(r, tf.cos(theta)), tf.mul(r, tf.sin(theta))], 1); // [P, 2]
    const z = tf.reshape(tf.slice(tf.reshape(pairsOut, [2 * pairs]), 0, n), shape);
    const t = transform === 'sign' ? tf.sign(z) : transform === 'square' ? tf.square(z) : z;
    return x === undefined ? tf.mul(t, b) : tf.add(tf.mul(x, a), tf.mul(t, b));
  });
}
