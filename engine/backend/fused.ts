// Two fused element-wise ops the optimizers run over every parameter: axpby (a·x + b·y, SGD's
// update) and the sum of squares (a gradient's squared norm). On the native backend each is one
// C++ pass with no tensor-sized temporary; elsewhere they are the stock ops they replace, with the
// same float32 rounding (a·x and b·y each rounded, then their sum), so results agree bit for bit.
import { hasKernel } from './custom-kernels.js';
import { tf, type Scalar, type Tensor } from './tf.js';

export const AXPBY = 'WhetstoneAxpby';
export const SUM_SQUARES = 'WhetstoneSumSquares';

export interface AxpbyAttrs {
  a: number;
  b: number;
}

/** x·a + y·b for same-shaped float32 tensors; `a` = 1 skips its multiply. */
export function axpby(x: Tensor, a: number, y: Tensor, b: number): Tensor {
  if (hasKernel(AXPBY) && x.dtype === 'float32' && y.dtype === 'float32') {
    const attrs: AxpbyAttrs = { a, b };
    return tf.engine().runKernel<Tensor>(AXPBY, { x, y }, attrs as unknown as tf.NamedAttrMap);
  }
  return tf.tidy(() => tf.add(a === 1 ? x : tf.mul(x, a), tf.mul(y, b)));
}

/** Σ x² as a scalar. */
export function sumOfSquares(x: Tensor): Scalar {
  if (hasKernel(SUM_SQUARES) && x.dtype === 'float32') {
    return tf.engine().runKernel<Scalar>(SUM_SQUARES, { x }, {});
  }
  return tf.tidy(() => tf.sum<Scalar>(tf.square(x)));
}
