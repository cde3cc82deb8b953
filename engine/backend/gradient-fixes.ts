// Corrections to tfjs 4.22's gradients (registered by the @tensorflow/tfjs import in tf.ts),
// each found by gradients.test.ts against finite differences:
// - Maximum, SquaredDifference, BatchMatMul: the gradient of a broadcast input keeps the
//   broadcast shape (tfjs throws "gradient ... does not match the shape of the input").
// - Cumsum: exclusive and reverse scans get the wrong adjoint.
// - StridedSlice: no gradient at all.
// - Comparisons and logical ops: no gradient, so a mask built from x (tf.where(x > y, ...))
//   breaks backprop; their derivative is zero wherever it exists.
// Importing this module replaces tfjs's entries in the shared gradient registry (tf.ts does, right
// after registering tfjs's own); every other gradient stays tfjs's.
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

type GradConfig = tf.GradConfig;

const single = (dy: Tensor | Tensor[]): Tensor => (Array.isArray(dy) ? dy[0]! : dy);
const float = (x: Tensor): Tensor => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

/** Sum a gradient of the broadcast shape back down to an input's `shape`. */
function unbroadcast(g: Tensor, shape: number[]): Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
}

/** A broadcasting binary kernel whose full-shape gradients are summed back to each input. */
function binary(
  kernelName: string,
  grad: (dy: Tensor, a: Tensor, b: Tensor) => [() => Tensor, () => Tensor],
): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const [da, db] = grad(single(dy), float(a!), float(b!));
      return { a: () => unbroadcast(da(), a!.shape), b: () => unbroadcast(db(), b!.shape) };
    },
  };
}

/** d(a·b) for each transpose combination, before summing broadcast batch dims. */
function matMulGrads(
  dy: Tensor,
  a: Tensor,
  b: Tensor,
  ta: boolean,
  tb: boolean,
): [() => Tensor, () => Tensor] {
  const mm = (x: Tensor, y: Tensor, tx: boolean, ty: boolean) => () => tf.matMul(x, y, tx, ty);
  if (!ta && !tb) return [mm(dy, b, false, true), mm(a, dy, true, false)];
  if (!ta && tb) return [mm(dy, b, false, false), mm(dy, a, true, false)];
  if (ta && !tb) return [mm(b, dy, false, true), mm(a, dy, false, false)];
  return [mm(b, dy, true, true), mm(dy, a, true, true)];
}

/**
 * d stridedSlice(x)/dx: a plain slice pads dy back; anything else scatters dy through the flat
 * positions the slice picked, found by slicing an iota of x's shape the same way.
 */
function stridedSliceGrad(dy: Tensor, x: Tensor, a: tf.StridedSliceAttrs): Tensor {
  const args = [
    a.begin,
    a.end,
    a.strides,
    a.beginMask,
    a.endMask,
    a.ellipsisMask,
    a.newAxisMask,
    a.shrinkAxisMask,
  ] as const;
  const info = tf.slice_util.sliceInfo(x.shape, ...args);
  if (info.isSimpleSlice) {
    const size = info.begin.map((b, d) => Math.max(0, info.end[d]! - b));
    const paddings = x.shape.map((dim, d): [number, number] => [
      info.begin[d]!,
      dim - info.begin[d]! - size[d]!,
    ]);
    return tf.pad(tf.reshape(dy, size), paddings);
  }
  const iota = tf.reshape(tf.range(0, x.size, 1, 'int32'), x.shape);
  const picked = tf.stridedSlice(iota, ...args);
  return tf.reshape(
    tf.unsortedSegmentSum(tf.reshape(dy, [-1]), tf.reshape(picked, [-1]), x.size),
    x.shape,
  );
}

const mask = (condition: Tensor): Tensor => tf.cast(condition, 'float32');
const zeroBinary = [
  'Equal',
  'NotEqual',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'LogicalOr',
];

export const gradientFixes: GradConfig[] = [
  // Ties send the gradient to a, as tfjs does.
  binary('Maximum', (dy, a, b) => [
    () => tf.mul(dy, mask(tf.greaterEqual(a, b))),
    () => tf.mul(dy, mask(tf.less(a, b))),
  ]),
  binary('SquaredDifference', (dy, a, b) => {
    const twice = (): Tensor => tf.mul(dy, tf.mul(tf.sub(a, b), 2));
    return [twice, () => tf.neg(twice())];
  }),
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const [da, db] = matMulGrads(single(dy), a!, b!, transposeA, transposeB);
      return { a: () => unbroadcast(da(), a!.shape), b: () => unbroadcast(db(), b!.shape) };
    },
  },
  {
    // The adjoint of a scan is the scan in the other direction, with the same exclusivity.
    kernelName: 'Cumsum',
    gradFunc: (dy, _saved, attrs) => {
      const { axis, exclusive, reverse } = attrs as unknown as tf.CumsumAttrs;
      return { x: () => tf.cumsum(single(dy), axis, exclusive, !reverse) };
    },
  },
  {
    kernelName: 'StridedSlice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () => stridedSliceGrad(single(dy), x!, attrs as unknown as tf.StridedSliceAttrs),
    }),
  },
  ...zeroBinary.map((kernelName): GradConfig => ({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, [a, b]) => ({ a: () => tf.zeros(a!.shape), b: () => tf.zeros(b!.shape) }),
  })),
];

for (const config of gradientFixes) tf.registerGradient(config);
