// The kernels added to and fixed in the wasm backend, against the cpu reference on random inputs,
// and the list of kernels wasm still lacks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { memory } from './memory.js';
import { opCases } from './op-cases.js';
import { initBackend, releaseBackend } from './select.js';
import { expectSame, intCases, kernelsOf, onBackend } from './testing.js';
import { tf } from './tf.js';
import { addedWasmKernels, wrappedWasmKernels } from './wasm-kernels.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});
afterAll(() => releaseBackend());

/** Kernels tfjs-backend-cpu has and tfjs-backend-wasm 4.22 lacks, none of which the engine uses. */
const KNOWN_MISSING = [
  'Complex',
  'ComplexAbs',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Draw',
  'Einsum',
  'FFT',
  'IFFT',
  'Imag',
  'RaggedGather',
  'RaggedRange',
  'RaggedTensorToTensor',
  'Real',
  'StaticRegexReplace',
];

const kernelNames = (backend: string) =>
  new Set(tf.getKernelsForBackend(backend).map((k) => k.kernelName));

/** Reference: out[s] = sum of rows i with ids[i] = s, ids outside [0, n) dropped. */
function segmentSum(x: Float32Array, rowSize: number, ids: number[], n: number): Float32Array {
  const out = new Float32Array(n * rowSize);
  ids.forEach((s, i) => {
    if (s < 0 || s >= n) return;
    for (let j = 0; j < rowSize; j++) out[s * rowSize + j]! += x[i * rowSize + j]!;
  });
  return out;
}

async function segmentSumOn(
  backend: string,
  x: Float32Array,
  shape: number[],
  ids: number[],
  n: number,
) {
  return onBackend(backend, async () => {
    const out = tf.unsortedSegmentSum(tf.tensor(x, shape), tf.tensor1d(ids, 'int32'), n);
    const values = await out.data();
    const outShape = out.shape;
    tf.dispose(out);
    return { values, shape: outShape };
  });
}

describe('wasm kernels', () => {
  it('lacks only kernels the engine does not use once ours are registered', async () => {
    const wasm = kernelNames('wasm');
    const missing = [...kernelNames('cpu')].filter((k) => !wasm.has(k)).sort();
    expect(missing).toEqual(KNOWN_MISSING);
    for (const k of [...addedWasmKernels, ...wrappedWasmKernels]) expect(wasm.has(k), k).toBe(true);
    // Every kernel an op case runs (forward and backward, as profiled on cpu) exists for wasm.
    const used = new Set<string>();
    await onBackend('cpu', async () => {
      for (const c of opCases) for (const k of await kernelsOf(c)) used.add(k);
    });
    // (Profiles also name customGrad ops such as 'logSoftmax__op': only real cpu kernels count.)
    const cpu = kernelNames('cpu');
    expect([...used].filter((k) => cpu.has(k) && !wasm.has(k))).toEqual([]);
    expect(used.has('UnsortedSegmentSum')).toBe(true);
  });

  it.each([
    { shape: [7], numSegments: 5 },
    { shape: [9, 4], numSegments: 12 },
    { shape: [16, 3, 5], numSegments: 6 },
    { shape: [1, 8], numSegments: 1 },
  ])(
    'UnsortedSegmentSum matches cpu for x $shape, $numSegments segments',
    async ({ shape, numSegments }) => {
      const rng = new Rng(shape.length * 31 + numSegments);
      const size = shape.reduce((a, b) => a * b, 1);
      const x = rng.normals(size);
      // Repeated, out-of-order ids; some segments empty, and a few ids outside [0, numSegments).
      const ids = Array.from(
        { length: shape[0]! },
        () => Math.floor(rng.uniform() * (numSegments + 2)) - 1,
      );
      const wasm = await segmentSumOn('wasm', x, shape, ids, numSegments);
      const cpu = await segmentSumOn('cpu', x, shape, ids, numSegments);
      expect(wasm.shape).toEqual([numSegments, ...shape.slice(1)]);
      expect(wasm.shape).toEqual(cpu.shape);
      const reference = segmentSum(x, size / shape[0]!, ids, numSegments);
      for (let i = 0; i < reference.length; i++) {
        expect(wasm.values[i]).toBeCloseTo(cpu.values[i]!, 5);
        expect(wasm.values[i]).toBeCloseTo(reference[i]!, 5);
      }
    },
  );

  it.each([
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [2, 4, 6, 5], b: [2, 4, 3, 6], ta: true, tb: true },
    { a: [3, 6, 5], b: [1, 4, 5], ta: false, tb: true },
  ])(
    'BatchMatMul $a × $b (transposeA $ta, transposeB $tb) matches cpu',
    async ({ a, b, ta, tb }) => {
      const rng = new Rng(a.length * 7 + b[0]!);
      const av = rng.normals(a.reduce((x, y) => x * y, 1));
      const bv = rng.normals(b.reduce((x, y) => x * y, 1));
      const product = (backend: string) =>
        onBackend(backend, async () => {
          const before = tf.memory().numTensors;
          const out = tf.tidy(() => tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), ta, tb));
          const result = { values: await out.data(), shape: out.shape };
          out.dispose();
          expect(tf.memory().numTensors).toBe(before);
          return result;
        });
      const wasm = await product('wasm');
      const cpu = await product('cpu');
      expect(wasm.shape).toEqual(cpu.shape);
      for (let i = 0; i < cpu.values.length; i++)
        expect(wasm.values[i]).toBeCloseTo(cpu.values[i]!, 4);
    },
  );

  it('Identity shares the buffer instead of copying it', async () => {
    const x = tf.tensor([1, 2, 3, 4]);
    const before = memory.liveBytes;
    const y = tf.clone(x);
    expect(memory.liveBytes).toBe(before);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    y.dispose();
  });

  it('UnsortedSegmentSum sums int32 exactly', async () => {
    const out = tf.unsortedSegmentSum(
      tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'),
      tf.tensor1d([2, 0, 2], 'int32'),
      4,
    );
    expect(out.dtype).toBe('int32');
    expect(Array.from(await out.data())).toEqual([3, 4, 0, 0, 6, 8, 0, 0]);
    out.dispose();
  });

  it('UnsortedSegmentSum stays correct when its output grows the wasm heap', async () => {
    const numSegments = 8_000_000; // 32 MB of output: more than the heap holds at start-up
    const out = tf.unsortedSegmentSum(
      tf.tensor2d([1, 2, 3, 4], [2, 2]),
      tf.tensor1d([numSegments / 2 - 1, 1], 'int32'),
      numSegments / 2,
    );
    const values = await out.data();
    expect([values[2], values[3], values[numSegments - 2], values[numSegments - 1]]).toEqual([
      3, 4, 1, 2,
    ]);
    out.dispose();
  });

  it('GatherV2 with batch dims matches cpu on random shapes', async () => {
    const rng = new Rng(17);
    const int = (n: number) => Math.floor(rng.uniform() * n);
    for (let trial = 0; trial < 60; trial++) {
      const rank = 1 + int(4);
      const shape = Array.from({ length: rank }, () => 1 + int(5));
      const batchDims = int(Math.min(rank, 3));
      const axis = batchDims + int(rank - batchDims);
      const indexShape = [
        ...shape.slice(0, batchDims),
        ...Array.from({ length: int(3) }, () => 1 + int(3)),
      ];
      const ids = Array.from({ length: indexShape.reduce((a, b) => a * b, 1) }, () =>
        int(shape[axis]!),
      );
      const x = rng.normals(shape.reduce((a, b) => a * b, 1));
      const run = () =>
        tf.tidy(() =>
          tf.gather(tf.tensor(x, shape), tf.tensor(ids, indexShape, 'int32'), axis, batchDims),
        );
      const label = `x [${shape.join(', ')}], indices [${indexShape.join(', ')}], axis ${axis}, batchDims ${batchDims}`;
      await expectSame('wasm', label, run);
    }
  });

  it.each(['float32', 'int32', 'bool'] as const)(
    'StridedSlice of %s matches cpu on random slices',
    async (dtype) => {
      const rng = new Rng(23);
      const int = (n: number) => Math.floor(rng.uniform() * n);
      for (let trial = 0; trial < 60; trial++) {
        const shape = Array.from({ length: 1 + int(3) }, () => 1 + int(6));
        const strides = shape.map(() => (rng.uniform() < 0.5 ? 1 + int(3) : -1 - int(2)));
        const begin = shape.map((d, i) => (strides[i]! > 0 ? int(d) : d - 1 - int(d)));
        // A negative stride reaches index 0 only through the end mask (end -1 is the last element).
        const end = shape.map((d, i) =>
          strides[i]! > 0 ? begin[i]! + 1 + int(d - begin[i]!) : begin[i]! - 1 - int(begin[i]! + 1),
        );
        const endMask = end.reduce((mask, e, i) => (e < 0 ? mask | (1 << i) : mask), 0);
        // tfjs's sliceInfo mishandles a shrunk axis beside negative strides (cpu throws, wasm reads
        // garbage), so shrink only with positive strides.
        const shrinkAxisMask =
          strides.every((st) => st > 0) && strides[0] === 1 && rng.uniform() < 0.5 ? 1 : 0;
        const x = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => int(7) - 3);
        const run = () =>
          tf.tidy(() =>
            tf.stridedSlice(
              tf.cast(tf.tensor(x, shape, 'int32'), dtype),
              begin,
              end,
              strides,
              0,
              endMask,
              0,
              0,
              shrinkAxisMask,
            ),
          );
        const label = `x [${shape.join(', ')}], begin [${begin.join(', ')}], end [${end.join(', ')}], strides [${strides.join(', ')}]`;
        await expectSame('wasm', label, run);
      }
    },
  );

  it.each(intCases.map((c) => [c.name, c] as const))(
    'int32/bool: %s matches cpu',
    async (_name, c) => {
      await expectSame('wasm', c.name, c.run);
    },
  );
});
