// The kernels the native backend runs in C++ (native/src), registered over the cpu backend's
// copies. Each takes the fast path only where its inputs fit it (float32, or 4-byte words for data
// movement, and the shapes noted) and otherwise defers to the cpu kernel of the same name, so a
// case the addon does not cover is slower, never wrong.
import { tf } from '../tf.js';
import type { NativeAddon, Word32Array } from './addon.js';

/** The cpu backend's storage, which the native backend inherits. */
export interface CpuStorage {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  /** An output array, possibly recycled: its contents are arbitrary until written. */
  pool: { alloc(dtype: 'float32' | 'int32', n: number): Float32Array | Int32Array };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: Float32Array | Int32Array,
  ): tf.TensorInfo;
}

type Ctx = { inputs: tf.NamedTensorInfoMap; backend: CpuStorage; attrs: Record<string, unknown> };
/** A native fast path: the output, or undefined to run the cpu kernel instead. */
type FastPath = (ctx: Ctx, addon: NativeAddon) => tf.TensorInfo | undefined;

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
/** A float32 tensor's values, or undefined for anything else (a bool tensor cast to float32 may
 * still hold its bytes, so the array's own type is checked, not only the dtype). */
const floats = (b: CpuStorage, t: tf.TensorInfo) => {
  const v = b.data.get(t.dataId).values;
  return t.dtype === 'float32' && v instanceof Float32Array ? v : undefined;
};
/** A float32 or int32 tensor's values, as 4-byte words. */
const words = (b: CpuStorage, t: tf.TensorInfo): Word32Array | undefined => {
  const v = b.data.get(t.dataId).values;
  return (t.dtype === 'float32' && v instanceof Float32Array) ||
    (t.dtype === 'int32' && v instanceof Int32Array)
    ? v
    : undefined;
};
const ints = (b: CpuStorage, t: tf.TensorInfo) => {
  const v = b.data.get(t.dataId).values;
  return t.dtype === 'int32' && v instanceof Int32Array ? v : undefined;
};
const newWords = (b: CpuStorage, dtype: tf.DataType, n: number): Word32Array =>
  b.pool.alloc(dtype === 'int32' ? 'int32' : 'float32', n);
const newFloats = (b: CpuStorage, n: number) => b.pool.alloc('float32', n) as Float32Array;

/** Binary op codes, as native/src/kernels.h numbers them. */
const binaryOps: Record<string, number> = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
  Pow: 7,
};

const unaryOps: Record<string, number> = {
  Exp: 0,
  Log: 1,
  Sqrt: 2,
  Rsqrt: 3,
  Neg: 4,
  Abs: 5,
  Square: 6,
  Reciprocal: 7,
  Sigmoid: 8,
  Tanh: 9,
  Relu: 10,
  Sin: 11,
  Cos: 12,
  Log1p: 13,
  Step: 14,
  Sign: 15,
  Relu6: 16,
};

const reduceOps: Record<string, number> = { Sum: 0, Max: 1, Min: 2, Mean: 3, Prod: 4 };

const binary =
  (op: number): FastPath =>
  ({ inputs, backend }, addon) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const [av, bv] = [floats(backend, a), floats(backend, b)];
    if (!av || !bv) return undefined;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const align = (s: number[]) => [...new Array<number>(outShape.length - s.length).fill(1), ...s];
    const out = newFloats(backend, size(outShape));
    addon.binary(op, av, align(a.shape), bv, align(b.shape), out, outShape);
    return backend.makeTensorInfo(outShape, 'float32', out);
  };

const unary =
  (op: number): FastPath =>
  ({ inputs, backend, attrs }, addon) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const xv = floats(backend, x);
    if (!xv) return undefined;
    const out = newFloats(backend, size(x.shape));
    addon.unary(op, xv, out, Number(attrs?.alpha ?? 0));
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };

const reduce =
  (op: number): FastPath =>
  ({ inputs, backend, attrs }, addon) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const xv = floats(backend, x);
    if (!xv) return undefined;
    // Max and Min name their axes reductionIndices; Sum, Mean and Prod name them axis.
    const axes = tf.util
      .parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape)
      .sort((p, q) => p - q);
    // Contiguous axes only: x is then [outer, reduced, inner]; other cases go to the cpu kernel.
    if (axes.some((ax, i) => i > 0 && ax !== axes[i - 1]! + 1)) return undefined;
    const first = axes[0] ?? 0;
    const end = axes.length === 0 ? 0 : axes.at(-1)! + 1;
    const outer = size(x.shape.slice(0, first));
    const r = size(x.shape.slice(first, end));
    const inner = size(x.shape.slice(end));
    const out = newFloats(backend, outer * inner);
    addon.reduce(op, xv, out, outer, r, inner);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const shape = attrs.keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
    return backend.makeTensorInfo(shape, 'float32', out);
  };

const batchMatMul: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const [av, bv] = [floats(backend, a), floats(backend, b)];
  if (!av || !bv) return undefined;
  const ta = Boolean(attrs.transposeA);
  const tb = Boolean(attrs.transposeB);
  const [ra, rb] = [a.shape.length, b.shape.length];
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = ta ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = tb ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return undefined; // the cpu kernel raises tfjs's own error
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const [batchA, batchB, batch] = [size(outerA), size(outerB), size(outer)];
  // tfjs indexes batches modulo each side's count; that is broadcasting only when a side is
  // whole or a single matrix.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  const out = newFloats(backend, batch * m * n);
  if (k === 0) return backend.makeTensorInfo([...outer, m, n], 'float32', out.fill(0));
  addon.matmul(av, bv, out, batchA, batchB, m, n, k, ta, tb);
  return backend.makeTensorInfo([...outer, m, n], 'float32', out);
};

const softmax: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { logits } = inputs as { logits: tf.TensorInfo };
  const rank = logits.shape.length;
  const dim = Number(attrs.dim ?? -1);
  const xv = floats(backend, logits);
  if (!xv || (dim !== -1 && dim !== rank - 1)) return undefined;
  const cols = logits.shape[rank - 1]!;
  const out = newFloats(backend, size(logits.shape));
  addon.softmax(xv, out, out.length / cols, cols, false);
  return backend.makeTensorInfo(logits.shape, 'float32', out);
};

const transpose: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const xv = words(backend, x);
  if (!xv) return undefined;
  const perm = attrs.perm as number[];
  const out = newWords(backend, x.dtype, size(x.shape));
  addon.transpose(xv, out, x.shape, perm);
  return backend.makeTensorInfo(
    perm.map((p) => x.shape[p]!),
    x.dtype,
    out,
  );
};

const gather: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const [xv, ids] = [words(backend, x), ints(backend, indices)];
  if (!xv || !ids || Number(attrs.batchDims ?? 0) !== 0) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const outer = size(x.shape.slice(0, axis));
  const count = size(indices.shape);
  const inner = size(x.shape.slice(axis + 1));
  const out = newWords(backend, x.dtype, outer * count * inner);
  const bad = addon.gather(xv, ids, out, outer, x.shape[axis]!, inner, count);
  if (bad >= 0) {
    throw new Error(`GatherV2: the index value ${ids[bad]} is not in [0, ${x.shape[axis]! - 1}]`);
  }
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  return backend.makeTensorInfo(shape, x.dtype, out);
};

const unsortedSegmentSum: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const [xv, ids] = [floats(backend, x), ints(backend, segmentIds)];
  if (!xv || !ids) return undefined;
  const k = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) return undefined;
  const segments = Number(attrs.numSegments);
  const rows = size(segmentIds.shape);
  const innerShape = x.shape.slice(k);
  const inner = size(innerShape);
  const out = newFloats(backend, segments * inner).fill(0);
  const bad = addon.segmentSum(xv, ids, out, rows, inner, segments);
  if (bad >= 0)
    throw new Error(`UnsortedSegmentSum: segment id ${ids[bad]} is not in [0, ${segments - 1}]`);
  return backend.makeTensorInfo([segments, ...innerShape], 'float32', out);
};

const slice: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const xv = words(backend, x);
  if (!xv) return undefined;
  const [begin, sz] = tf.slice_util.parseSliceParams(
    x,
    attrs.begin as number[],
    attrs.size as number[],
  ) as [number[], number[]];
  tf.slice_util.assertParamsValid(x, begin, sz);
  const out = newWords(backend, x.dtype, size(sz));
  addon.slice(xv, x.shape, begin, sz, out);
  return backend.makeTensorInfo(sz, x.dtype, out);
};

const pad: FastPath = ({ inputs, backend, attrs }, addon) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const xv = words(backend, x);
  if (!xv) return undefined;
  const paddings = attrs.paddings as [number, number][];
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const out = newWords(backend, x.dtype, size(outShape));
  const value = Number(attrs.constantValue ?? 0);
  out.fill(value);
  addon.padInto(
    xv,
    x.shape,
    paddings.map((p) => p[0]),
    out,
    outShape,
  );
  return backend.makeTensorInfo(outShape, x.dtype, out);
};

/** kernel name → its native fast path. */
export const fastPaths: Record<string, FastPath> = {
  BatchMatMul: batchMatMul,
  Softmax: softmax,
  Transpose: transpose,
  GatherV2: gather,
  UnsortedSegmentSum: unsortedSegmentSum,
  Slice: slice,
  PadV2: pad,
  ...Object.fromEntries(Object.entries(binaryOps).map(([name, op]) => [name, binary(op)])),
  ...Object.fromEntries(Object.entries(unaryOps).map(([name, op]) => [name, unary(op)])),
  ...Object.fromEntries(Object.entries(reduceOps).map(([name, op]) => [name, reduce(op)])),
};

/** Register each fast path for `backendName` in front of the cpu kernel it falls back to. */
export function registerNativeKernels(backendName: string, addon: NativeAddon): void {
  for (const [kernelName, fast] of Object.entries(fastPaths)) {
    const fallback = tf.getKernel(kernelName, 'cpu')?.kernelFunc;
    if (!fallback) continue;
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: (args) => fast(args as unknown as Ctx, addon) ?? fallback(args),
    });
  }
}
