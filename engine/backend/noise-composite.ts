// NoiseAxpy from stock tfjs ops, for backends without the custom kernel (tensorflow). The hash
// of engine/util/counter-rng.ts in int32 ops that wrap mod 2^32 like u32 arithmetic:
// - a ^ b = a + b - 2·(a & b);
// - a logical shift right is floorDiv(x, 2^s) & (2^(32-s) - 1);
// - a multiply by a 32-bit constant is split into 16-bit halves, so that no product exceeds 2^53
//   (the cpu backend computes int32 ops in double before wrapping).
// After the hash, the float32 steps of noiseAxpyRange in the same order: each tfjs op rounds to
// float32 once, as each Math.fround there, so on the cpu backend the result is bit-identical.
// Its temporaries peak near 31 times the tensor's bytes, tidied part by part (79 times when all
// lived to the end): correct everywhere, lean only where the kernel exists.
import {
  MIX_A,
  MIX_B,
  NOISE_CONSTANTS,
  streamKey,
  type NoiseTransform,
} from '../util/counter-rng.js';
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

/** One mixing round; its dozens of temporaries are freed on return (a tidy). */
function mix32(v: Tensor): Tensor {
  return tf.tidy(() => {
    let x = xor(v, shiftRight(v, 16));
    x = mulConstant(x, MIX_A);
    x = xor(x, shiftRight(x, 15));
    x = mulConstant(x, MIX_B);
    return xor(x, shiftRight(x, 16));
  });
}

const C = NOISE_CONSTANTS;

/** counterBits(c, key) of counter-rng.ts for int32 counters `c`. */
const bitsAt = (c: Tensor, key: number) => mix32(tf.add(mix32(tf.add(c, int(key))), int(key)));

/** c0 + x·(c1 + x·(c2 + ...)): a float32 multiply and add per coefficient, as the reference. */
const horner = (x: Tensor, coefficients: number[]) =>
  coefficients
    .slice(0, -1)
    .reduceRight<Tensor>((acc, c) => tf.add(tf.mul(x, acc), c), tf.scalar(coefficients.at(-1)!));

/** r = √(−2·ln u) of the pairs' first hashes, step for step as noiseAxpyRange. */
function radius(h1: Tensor): Tensor {
  const v = tf.cast(tf.add(tf.mul(shiftRight(h1, 9), int(2)), int(1)), 'float32'); // u·2^24
  // u = m·2^e without reading float bits (no bitcast in tfjs): halve v into [1, 2) by a binary
  // search over its power of two, each step exact.
  let m = v;
  let e = tf.fill(v.shape, -24);
  for (const p of [16, 8, 4, 2, 1]) {
    const big = tf.greaterEqual(m, 2 ** p);
    m = tf.where(big, tf.mul(m, 2 ** -p), m);
    e = tf.where(big, tf.add(e, p), e);
  }
  const high = tf.greaterEqual(m, C.SQRT2);
  m = tf.where(high, tf.mul(m, 0.5), m);
  e = tf.where(high, tf.add(e, 1), e);
  const s = tf.div(tf.sub(m, 1), tf.add(m, 1));
  const s2 = tf.mul(s, s);
  const lnm = tf.mul(s, horner(s2, [C.LOG_0, C.LOG_1, C.LOG_2, C.LOG_3, C.LOG_4]));
  return tf.sqrt(tf.mul(tf.add(tf.mul(e, C.LN2), lnm), -2));
}

/** [cos θ, sin θ] of the pairs' second hashes: octant, mirrored fraction, series, signs. */
function cosSin(h2: Tensor): [Tensor, Tensor] {
  const o = shiftRight(h2, 29);
  const w = tf.bitwiseAnd(shiftRight(h2, 8), tf.fill(h2.shape, 0x1fffff, 'int32'));
  const odd = tf.equal(tf.bitwiseAnd(o, tf.onesLike(o)), int(1));
  const mirrored = tf.where(odd, tf.sub(int(0x1fffff), w), w);
  const t = tf.mul(tf.cast(tf.add(tf.mul(mirrored, int(2)), int(1)), 'float32'), 2 ** -22);
  const t2 = tf.mul(t, t);
  const sn = tf.mul(t, horner(t2, [C.SIN_0, C.SIN_1, C.SIN_2, C.SIN_3, C.SIN_4]));
  const cs = horner(t2, [1, C.COS_1, C.COS_2, C.COS_3, C.COS_4, C.COS_5]);
  const bit = (k: Tensor, mask: number) =>
    tf.greater(tf.bitwiseAnd(k, tf.fill(k.shape, mask, 'int32')), int(0));
  const swap = bit(tf.add(o, int(1)), 2); // octants 1, 2, 5, 6
  const cosTheta = tf.where(swap, sn, cs);
  const sinTheta = tf.where(swap, cs, sn);
  return [
    tf.where(bit(tf.add(o, int(2)), 4), tf.neg(cosTheta), cosTheta), // negative in 2..5
    tf.where(bit(o, 4), tf.neg(sinTheta), sinTheta), // negative in 4..7
  ];
}

/** out = a·x + b·T(z) as NoiseAxpy, from stock ops (see the top of the file). */
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
    // (A tidy each, so the hash's and the series' temporaries go before the next part starts.)
    const r = tf.tidy(() => radius(bitsAt(counters, key))); // [P]
    const [cosTheta, sinTheta] = tf.tidy(() => cosSin(bitsAt(tf.add(counters, int(1)), key))); // [P]
    const pairsOut = tf.stack([tf.mul(r, cosTheta), tf.mul(r, sinTheta)], 1); // [P, 2]
    const z = tf.reshape(tf.slice(tf.reshape(pairsOut, [2 * pairs]), 0, n), shape);
    const t = transform === 'sign' ? tf.sign(z) : transform === 'square' ? tf.square(z) : z;
    return x === undefined ? tf.mul(t, b) : tf.add(tf.mul(x, a), tf.mul(t, b));
  });
}
