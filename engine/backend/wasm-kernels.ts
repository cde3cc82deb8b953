// Kernels added to or fixed in tfjs-backend-wasm 4.22, written in JS over the wasm heap.
//
// Added, because wasm lacks it:
// - UnsortedSegmentSum: the gradient of gather, i.e. of every embedding lookup.
// Wrapped, because wasm's kernel gives wrong results (found by wasm-kernels.test.ts against cpu);
// the wrapper handles the broken case and passes every other call to the original:
// - GatherV2 with batchDims > 0 (the loss picks each row's target logit this way): reads the
//   wrong elements or traps with "memory access out of bounds".
// - StridedSlice of int32/bool with non-unit strides: writes a float32 tensor of the raw bytes.
// - Cast to bool: keeps the raw values (3, 255, ...) instead of 0/1.
// Wrapped, because it is slow:
// - BatchMatMul with a transposed operand runs ~13× slower than without (2 vs 30 GFLOP/s), and
//   every linear layer is x·Wᵀ: the wrapper transposes the operand (a fast kernel) and multiplies
//   untransposed.
// Replaced, because it wastes memory:
// - Identity copies the buffer, and the gradient tape clones (Identity) every input it saves,
//   so a backward pass held a copy of every weight a matmul read. It now shares the buffer,
//   as Reshape and the cpu and webgpu backends do.
// Its other gaps (Einsum, FFT and complex numbers, convolution filter gradients, ragged and
// string kernels) are not used by the engine; wasm-kernels.test.ts lists them.
import { WhetstoneError } from '../errors.js';
import { tf } from './tf.js';

type Values = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmHeapBackend {
  /** Allocates a tensor on the wasm heap (may grow the heap, which detaches earlier views). */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's bytes on the heap; valid until the next allocation. */
  typedArrayFromHeap(t: tf.TensorInfo): Values;
  /** One more tensor holds this buffer (freed when the last one is disposed). */
  incRef(dataId: tf.DataId): void;
  disposeData(dataId: tf.DataId): boolean;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s; ids outside [0, numSegments) are
 * dropped, as on the cpu backend. One pass over x, unlike the cpu kernel's pass per segment.
 */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `unsortedSegmentSum on wasm takes 1-D segment ids as long as x's first dimension; got ids [${segmentIds.shape.join(', ')}] for x [${x.shape.join(', ')}]`,
      'Reshape x to [n, ...] and the ids to [n] first.',
    );
  }
  const heap = backend as WasmHeapBackend;
  const rowSize = size(x.shape.slice(1));
  const out = heap.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  // Views are taken after the allocation: growing the heap detaches older ones.
  const sums = heap.typedArrayFromHeap(out);
  const values = heap.typedArrayFromHeap(x);
  const ids = heap.typedArrayFromHeap(segmentIds);
  sums.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * rowSize;
    const to = segment * rowSize;
    for (let j = 0; j < rowSize; j++) sums[to + j]! += values[from + j]!;
  }
  return out;
};

/** GatherV2 with batch dims: out[b, o, k, s] = x[b, o, indices[b, k], s]. */
function gatherBatched(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
    if (batchDims === 0) return original(args);
    const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x,
      indices,
      parsedAxis,
      batchDims,
    );
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    const heap = args.backend as WasmHeapBackend;
    const out = heap.makeOutput(info.outputShape, x.dtype);
    const dst = heap.typedArrayFromHeap(out);
    const src = heap.typedArrayFromHeap(x);
    const ids = heap.typedArrayFromHeap(indices);
    const k = ids.length / batchSize;
    for (let b = 0; b < batchSize; b++) {
      for (let j = 0; j < k; j++) {
        const index = ids[b * k + j]!;
        if (index < 0 || index >= dimSize)
          throw new Error(`GatherV2: the index value ${index} is not in [0, ${dimSize - 1}]`);
        for (let o = 0; o < outerSize; o++) {
          const from = ((b * outerSize + o) * dimSize + index) * sliceSize;
          const to = ((b * outerSize + o) * k + j) * sliceSize;
          dst.set(src.subarray(from, from + sliceSize), to);
        }
      }
    }
    return out;
  };
}

/** StridedSlice of int32/bool through the general (strided) path, element by element. */
function stridedSliceTyped(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const a = args.attrs as unknown as tf.StridedSliceAttrs;
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    if (x.dtype === 'float32' || info.isIdentity || info.sliceDim0 || info.isSimpleSlice)
      return original(args);
    const shape = info.finalShapeSparse;
    const rank = x.shape.length;
    const strides = x.shape.map((_, d) => size(x.shape.slice(d + 1)));
    const heap = args.backend as WasmHeapBackend;
    const out = heap.makeOutput(info.finalShape, x.dtype);
    const dst = heap.typedArrayFromHeap(out);
    const src = heap.typedArrayFromHeap(x);
    const at = new Array<number>(rank).fill(0);
    for (let i = 0; i < dst.length; i++) {
      let offset = 0;
      for (let d = 0; d < rank; d++)
        offset += (info.begin[d]! + at[d]! * info.strides[d]!) * strides[d]!;
      dst[i] = src[offset]!;
      for (let d = rank - 1; d >= 0 && ++at[d]! === shape[d]; d--) at[d] = 0;
    }
    return out;
  };
}

/** Cast to bool as x != 0 (NaN is true, as in TensorFlow). */
function castToBool(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (dtype !== 'bool' || x.dtype === 'bool') return original(args);
    const heap = args.backend as WasmHeapBackend;
    const out = heap.makeOutput(x.shape, 'bool');
    const dst = heap.typedArrayFromHeap(out);
    const src = heap.typedArrayFromHeap(x);
    for (let i = 0; i < dst.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  };
}

/** The kernel this file adds for 'wasm'. */
export const addedWasmKernels: readonly string[] = ['UnsortedSegmentSum'];

/** Identity as a second handle on the same buffer (strings keep the original kernel). */
function sharedIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as WasmHeapBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** BatchMatMul with its transposes done by the Transpose kernel first (see the file comment). */
function untransposedMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const backend = args.backend as unknown as WasmHeapBackend;
    const transpose = tf.getKernel('Transpose', 'wasm').kernelFunc;
    const flip = (x: tf.TensorInfo): tf.TensorInfo => {
      const perm = x.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm.length - 1, perm.length - 2];
      return transpose({ inputs: { x }, attrs: { perm }, backend: args.backend }) as tf.TensorInfo;
    };
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const a2 = attrs.transposeA ? flip(a) : a;
    const b2 = attrs.transposeB ? flip(b) : b;
    const out = original({
      ...args,
      inputs: { a: a2, b: b2 },
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    if (a2 !== a) backend.disposeData(a2.dataId);
    if (b2 !== b) backend.disposeData(b2.dataId);
    return out;
  };
}

/** Kernels whose wasm version is wrapped, with the wrapper. */
const wrappers: Record<string, (original: tf.KernelFunc) => tf.KernelFunc> = {
  GatherV2: gatherBatched,
  StridedSlice: stridedSliceTyped,
  Cast: castToBool,
  Identity: sharedIdentity,
  BatchMatMul: untransposedMatMul,
};
export const wrappedWasmKernels: readonly string[] = Object.keys(wrappers);

const ours = new WeakSet<tf.KernelFunc>();

/** Add the missing wasm kernels and wrap the broken ones (after importing the wasm backend). */
export function registerWasmKernels(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSum,
    });
  }
  for (const [kernelName, wrap] of Object.entries(wrappers)) {
    const config = tf.getKernel(kernelName, 'wasm');
    if (config === undefined || ours.has(config.kernelFunc)) continue;
    const kernelFunc = wrap(config.kernelFunc);
    ours.add(kernelFunc);
    tf.unregisterKernel(kernelName, 'wasm');
    // setupFunc binds the C++ entry point for each wasm module instance: keep it.
    tf.registerKernel({ ...config, kernelFunc });
  }
}
