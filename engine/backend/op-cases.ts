// Test support: small functions that exercise every kernel transformer training runs, forward
// and backward. The gradient tests check them against finite differences on cpu; the backend
// tests check wasm and webgpu against cpu with the same inputs.
import { Rng } from '../util/rng.js';
import { tf, type Tensor, type Tensor1D } from './tf.js';

/** How an input's values are drawn: away from the kinks at 0 ('signed'), or strictly positive. */
export type Draw = 'signed' | 'positive';

export interface OpCase {
  name: string;
  inputs: { shape: number[]; draw?: Draw }[];
  f: (...xs: Tensor[]) => Tensor;
  /** Kernels the case is meant to reach (documentation and coverage checks). */
  kernels: string[];
}

const ids = (values: number[]): Tensor1D => tf.tensor1d(values, 'int32');
const signed = (shape: number[]) => ({ shape, draw: 'signed' as const });
const positive = (shape: number[]) => ({ shape, draw: 'positive' as const });
const pick = (parts: Tensor[], i: number): Tensor => {
  const part = parts[i];
  if (part === undefined) throw new Error(`pick: no part ${i} among ${parts.length}`);
  return part;
};

export const opCases: OpCase[] = [
  // Elementwise unary.
  { name: 'neg', kernels: ['Neg'], inputs: [signed([2, 3])], f: (x) => tf.neg(x) },
  { name: 'clone', kernels: ['Identity'], inputs: [signed([5])], f: (x) => tf.clone(x) },
  { name: 'exp', kernels: ['Exp'], inputs: [signed([2, 3])], f: (x) => tf.exp(x) },
  { name: 'expm1', kernels: ['Expm1'], inputs: [signed([4])], f: (x) => tf.expm1(x) },
  { name: 'log', kernels: ['Log'], inputs: [positive([2, 3])], f: (x) => tf.log(x) },
  { name: 'log1p', kernels: ['Log1p'], inputs: [positive([4])], f: (x) => tf.log1p(x) },
  { name: 'square', kernels: ['Square'], inputs: [signed([2, 3])], f: (x) => tf.square(x) },
  { name: 'sqrt', kernels: ['Sqrt'], inputs: [positive([2, 3])], f: (x) => tf.sqrt(x) },
  { name: 'rsqrt', kernels: ['Rsqrt'], inputs: [positive([2, 3])], f: (x) => tf.rsqrt(x) },
  {
    name: 'reciprocal',
    kernels: ['Reciprocal'],
    inputs: [signed([5])],
    f: (x) => tf.reciprocal(x),
  },
  { name: 'tanh', kernels: ['Tanh'], inputs: [signed([2, 3])], f: (x) => tf.tanh(x) },
  { name: 'sigmoid', kernels: ['Sigmoid'], inputs: [signed([2, 3])], f: (x) => tf.sigmoid(x) },
  { name: 'softplus', kernels: ['Softplus'], inputs: [signed([5])], f: (x) => tf.softplus(x) },
  { name: 'relu', kernels: ['Relu'], inputs: [signed([2, 4])], f: (x) => tf.relu(x) },
  { name: 'relu6', kernels: ['Relu6'], inputs: [signed([8])], f: (x) => tf.relu6(tf.mul(x, 5)) },
  {
    name: 'leakyRelu',
    kernels: ['LeakyRelu'],
    inputs: [signed([6])],
    f: (x) => tf.leakyRelu(x, 0.1),
  },
  { name: 'elu', kernels: ['Elu'], inputs: [signed([6])], f: (x) => tf.elu(x) },
  {
    name: 'erf (gelu)',
    kernels: ['Erf'],
    inputs: [signed([2, 4])],
    f: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))),
  },
  {
    name: 'sin cos',
    kernels: ['Sin', 'Cos'],
    inputs: [signed([5])],
    f: (x) => tf.add(tf.sin(x), tf.cos(tf.mul(x, 2))),
  },
  { name: 'abs', kernels: ['Abs'], inputs: [signed([6])], f: (x) => tf.abs(x) },
  {
    name: 'clipByValue',
    kernels: ['ClipByValue'],
    inputs: [signed([8])],
    f: (x) => tf.clipByValue(x, -1.7, 0.1),
  },
  {
    name: 'cast',
    kernels: ['Cast'],
    inputs: [signed([4])],
    f: (x) => tf.mul(tf.cast(x, 'float32'), x),
  },
  {
    name: 'mask from a comparison',
    kernels: ['Greater', 'Cast', 'Select', 'Step'],
    inputs: [signed([2, 4])],
    f: (x) =>
      tf.add(
        tf.mul(x, tf.cast(tf.greater(x, 0), 'float32')),
        tf.mul(tf.where(tf.less(x, 0), x, tf.mul(x, 3)), tf.step(x)),
      ),
  },
  {
    name: 'argMax one-hot mask',
    kernels: ['ArgMax', 'OneHot'],
    inputs: [signed([3, 4])],
    f: (x) => tf.mul(x, tf.cast(tf.oneHot(tf.argMax(x, 1), 4), 'float32')),
  },
  // Broadcasting binary.
  {
    name: 'add',
    kernels: ['Add'],
    inputs: [signed([2, 3]), signed([3])],
    f: (a, b) => tf.add(a, b),
  },
  {
    name: 'sub',
    kernels: ['Sub'],
    inputs: [signed([2, 1]), signed([2, 3])],
    f: (a, b) => tf.sub(a, b),
  },
  {
    name: 'mul',
    kernels: ['Multiply'],
    inputs: [signed([2, 3]), signed([2, 1])],
    f: (a, b) => tf.mul(a, b),
  },
  {
    name: 'div',
    kernels: ['RealDiv'],
    inputs: [signed([2, 3]), signed([3])],
    f: (a, b) => tf.div(a, b),
  },
  {
    name: 'squaredDifference',
    kernels: ['SquaredDifference'],
    inputs: [signed([2, 3]), signed([3])],
    f: (a, b) => tf.squaredDifference(a, b),
  },
  {
    name: 'maximum',
    kernels: ['Maximum'],
    inputs: [signed([2, 3]), signed([3])],
    f: (a, b) => tf.maximum(a, b),
  },
  {
    name: 'minimum',
    kernels: ['Minimum'],
    inputs: [signed([2, 3]), signed([2, 3])],
    f: (a, b) => tf.minimum(a, b),
  },
  {
    name: 'pow',
    kernels: ['Pow'],
    inputs: [positive([2, 3]), signed([3])],
    f: (a, b) => tf.pow(a, b),
  },
  {
    name: 'pow scalar',
    kernels: ['Pow'],
    inputs: [signed([5])],
    f: (x) => tf.pow(x, tf.scalar(2)),
  },
  {
    name: 'addN',
    kernels: ['AddN'],
    inputs: [signed([3]), signed([3])],
    f: (a, b) => tf.addN([a, b, tf.mul(a, b)]),
  },
  // Data movement.
  {
    name: 'reshape',
    kernels: ['Reshape'],
    inputs: [signed([2, 6])],
    f: (x) => tf.mul(tf.reshape(x, [3, 4]), tf.range(0, 4)),
  },
  {
    name: 'expandDims',
    kernels: ['ExpandDims'],
    inputs: [signed([2, 3])],
    f: (x) => tf.mul(tf.expandDims(x, 1), tf.ones([2, 2, 3])),
  },
  {
    name: 'transpose',
    kernels: ['Transpose'],
    inputs: [signed([2, 3, 4])],
    f: (x) => tf.transpose(x, [2, 0, 1]),
  },
  {
    name: 'concat',
    kernels: ['Concat'],
    inputs: [signed([2, 3]), signed([2, 2])],
    f: (a, b) => tf.concat([a, b, a], -1),
  },
  {
    name: 'split',
    kernels: ['SplitV'],
    inputs: [signed([2, 6])],
    f: (x) => tf.mul(pick(tf.split(x, [1, 2, 3], 1), 1), 2),
  },
  {
    name: 'stack',
    kernels: ['Pack'],
    inputs: [signed([3]), signed([3])],
    f: (a, b) => tf.stack([a, b, a], 1),
  },
  {
    name: 'unstack',
    kernels: ['Unpack'],
    inputs: [signed([3, 2])],
    f: (x) => tf.mul(pick(tf.unstack(x, 1), 0), 3),
  },
  {
    name: 'slice',
    kernels: ['Slice'],
    inputs: [signed([3, 4])],
    f: (x) => tf.slice(x, [1, 1], [2, -1]),
  },
  {
    name: 'stridedSlice (unit strides)',
    kernels: ['StridedSlice'],
    inputs: [signed([3, 4])],
    f: (x) => tf.stridedSlice(x, [1, 0], [3, 3], [1, 1]),
  },
  {
    name: 'stridedSlice (strides, shrink, reverse)',
    kernels: ['StridedSlice'],
    inputs: [signed([4, 6])],
    f: (x) =>
      tf.add(
        tf.stridedSlice(x, [0, 1], [4, 6], [2, 2]),
        tf.slice(tf.stridedSlice(x, [3, 5], [0, 0], [-1, -2]), [0, 0], [2, 3]),
      ),
  },
  {
    name: 'pad',
    kernels: ['PadV2'],
    inputs: [signed([2, 3])],
    f: (x) =>
      tf.mul(
        tf.pad(
          x,
          [
            [1, 0],
            [2, 1],
          ],
          0.5,
        ),
        tf.range(1, 7),
      ),
  },
  { name: 'tile', kernels: ['Tile'], inputs: [signed([2, 3])], f: (x) => tf.tile(x, [3, 2]) },
  {
    name: 'broadcastTo',
    kernels: ['Tile'],
    inputs: [signed([1, 3])],
    f: (x) => tf.broadcastTo(x, [4, 3]),
  },
  { name: 'reverse', kernels: ['Reverse'], inputs: [signed([3, 4])], f: (x) => tf.reverse(x, 1) },
  {
    name: 'gather axis 0 (embedding)',
    kernels: ['GatherV2'],
    inputs: [signed([5, 3])],
    f: (x) => tf.gather(x, ids([4, 1, 1, 0, 4, 2])),
  },
  {
    name: 'gather axis 1, 2-d indices',
    kernels: ['GatherV2'],
    inputs: [signed([2, 5, 3])],
    f: (x) => tf.gather(x, tf.tensor2d([3, 0, 3, 1], [2, 2], 'int32'), 1),
  },
  {
    name: 'gather batchDims 1 (target logits)',
    kernels: ['GatherV2'],
    inputs: [signed([4, 6])],
    f: (x) => tf.gather(x, tf.tensor2d([5, 0, 2, 2], [4, 1], 'int32'), 1, 1),
  },
  {
    name: 'where',
    kernels: ['Select'],
    inputs: [signed([2, 3]), signed([2, 3])],
    f: (a, b) => tf.where(tf.greater(a, b), a, tf.mul(b, 2)),
  },
  { name: 'cumsum', kernels: ['Cumsum'], inputs: [signed([3, 4])], f: (x) => tf.cumsum(x, 1) },
  {
    name: 'cumsum exclusive reverse',
    kernels: ['Cumsum'],
    inputs: [signed([3, 4])],
    f: (x) => tf.cumsum(x, 0, true, true),
  },
  // Reductions and products.
  { name: 'sum', kernels: ['Sum'], inputs: [signed([2, 3, 4])], f: (x) => tf.sum(x, [0, 2]) },
  {
    name: 'sum keepDims',
    kernels: ['Sum'],
    inputs: [signed([2, 3])],
    f: (x) => tf.mul(tf.sum(x, -1, true), x),
  },
  { name: 'mean', kernels: ['Mean'], inputs: [signed([2, 3, 4])], f: (x) => tf.mean(x, -1) },
  { name: 'max', kernels: ['Max'], inputs: [signed([3, 4])], f: (x) => tf.max(x, 1) },
  { name: 'min', kernels: ['Min'], inputs: [signed([3, 4])], f: (x) => tf.min(x, 0, true) },
  { name: 'softmax', kernels: ['Softmax'], inputs: [signed([3, 5])], f: (x) => tf.softmax(x) },
  {
    name: 'logSoftmax',
    kernels: ['Max', 'Exp', 'Log'],
    inputs: [signed([3, 5])],
    f: (x) => tf.logSoftmax(x),
  },
  {
    name: 'logSumExp',
    kernels: ['Max', 'Exp', 'Sum', 'Log'],
    inputs: [signed([3, 5])],
    f: (x) => tf.logSumExp(x, 1),
  },
  {
    name: 'matMul',
    kernels: ['BatchMatMul'],
    inputs: [signed([3, 4]), signed([4, 2])],
    f: (a, b) => tf.matMul(a, b),
  },
  {
    name: 'matMul transposeB',
    kernels: ['BatchMatMul'],
    inputs: [signed([3, 4]), signed([2, 4])],
    f: (a, b) => tf.matMul(a, b, false, true),
  },
  {
    name: 'matMul transposeA',
    kernels: ['BatchMatMul'],
    inputs: [signed([4, 3]), signed([4, 2])],
    f: (a, b) => tf.matMul(a, b, true, false),
  },
  {
    name: 'matMul both transposed',
    kernels: ['BatchMatMul'],
    inputs: [signed([4, 3]), signed([2, 4])],
    f: (a, b) => tf.matMul(a, b, true, true),
  },
  {
    name: 'batched matMul',
    kernels: ['BatchMatMul'],
    inputs: [signed([2, 3, 4]), signed([2, 4, 2])],
    f: (a, b) => tf.matMul(a, b),
  },
  {
    name: 'broadcast matMul',
    kernels: ['BatchMatMul'],
    inputs: [signed([2, 2, 3, 4]), signed([4, 2])],
    f: (a, b) => tf.matMul(a, b),
  },
  {
    name: 'unsortedSegmentSum',
    kernels: ['UnsortedSegmentSum'],
    inputs: [signed([6, 2])],
    f: (x) => tf.unsortedSegmentSum(x, ids([3, 0, 3, 5, 1, 3]), 7),
  },
];

/** Deterministic inputs for a case: |v| in [0.2, 1.5] with a random sign, or v in [0.3, 2]. */
export function drawInputs(c: OpCase, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return c.inputs.map(({ shape, draw = 'signed' }) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) {
      const u = rng.uniform();
      values[i] =
        draw === 'positive' ? 0.3 + 1.7 * u : (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + 1.3 * u);
    }
    return values;
  });
}

/** Fixed upstream weights w: the loss is sum(f(x) * w), so every output element gets its own dy. */
function weightsFor(shape: number[], seed: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed ^ 0x5eed).normals(size), shape);
}

/** The shape of the case's input `i`: `values` passed to a case hold one array per input. */
function inputShape(c: OpCase, i: number): number[] {
  const input = c.inputs[i];
  if (input === undefined) {
    throw new Error(
      `Op case ${c.name} takes ${c.inputs.length} inputs; got a value for input ${i}.`,
    );
  }
  return input.shape;
}

/** The case's loss sum(f(xs) * w) as a number, on the current backend. */
export async function caseLoss(c: OpCase, values: Float32Array[]): Promise<number> {
  const loss = tf.tidy(() => {
    const xs = values.map((v, i) => tf.tensor(v, inputShape(c, i)));
    const y = c.f(...xs);
    return tf.sum(tf.mul(y, weightsFor(y.shape, 1)));
  });
  const [value] = await loss.data();
  loss.dispose();
  // A sum over every axis is a scalar: exactly one value.
  return value!;
}

export interface CaseResult {
  y: Float32Array;
  grads: Float32Array[];
}

/** Forward output and the gradients of sum(f(xs) * w) for each input, on the current backend. */
export async function runCase(c: OpCase, values: Float32Array[]): Promise<CaseResult> {
  const xs = values.map((v, i) => tf.tensor(v, inputShape(c, i)));
  const [y, ...grads] = tf.tidy(() => {
    const out = c.f(...xs);
    const w = weightsFor(out.shape, 1);
    const g = tf.grads((...args: Tensor[]) => tf.sum(tf.mul(c.f(...args), w)))(xs);
    return [out, ...g];
  });
  const result = {
    y: (await y.data()) as Float32Array,
    grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)),
  };
  tf.dispose([y, ...grads, ...xs]);
  return result;
}

/** max |a - b| / max(|b|, floor): error relative to the reference b's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
