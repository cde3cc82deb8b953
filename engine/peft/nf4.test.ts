// NF4 against a direct implementation of bitsandbytes' layout: nearest code by brute force, two
// codes per byte (first in the high nibble); the device dequantizers (the fused kernel on cpu,
// wasm and webgpu; the stock-op composite that the tensorflow backend runs) against the host one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../backend/memory.js';
import { initBackend } from '../backend/select.js';
import { startWasm } from '../backend/wasm.js';
import { tf } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import {
  blockScales,
  dequantizeNf4,
  dequantizeNf4Tensor,
  DYNAMIC_CODE,
  nf4Bytes,
  nf4Tensors,
  NF4_CODE,
  quantizeNf4,
} from './nf4.js';
import { hasNf4Kernel, nf4DequantizeKernel } from './nf4-kernel.js';

const requireWebgpu = process.env.WHETSTONE_REQUIRE_WEBGPU === '1';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** Switch to `backend`; false when webgpu has no adapter here (an error where it is required). */
async function use(backend: string): Promise<boolean> {
  try {
    await initBackend({ backend: backend as 'cpu' });
    return true;
  } catch (err) {
    if (backend !== 'webgpu' || requireWebgpu) throw err;
    return false;
  }
}

function randomWeights(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const rand = () => rng.uniform();
  // Gaussian-ish with a few outliers, so blocks have very different absmax values.
  return Float32Array.from({ length: n }, (_, i) => {
    const g = (rand() + rand() + rand() - 1.5) * 0.05;
    return i % 97 === 0 ? g * 20 : g;
  });
}

/** argmin |x - c| over the codebook, scanning every value (ties to the lower index). */
function bruteNearest(code: Float32Array, x: number): number {
  let best = 0;
  for (let k = 1; k < code.length; k++)
    if (Math.abs(x - code[k]!) < Math.abs(x - code[best]!)) best = k;
  return best;
}

describe('NF4', () => {
  it('packs the codes as bitsandbytes does: nearest code, high nibble first', () => {
    const n = 64 * 5 + 6; // a partial last block
    const w = randomWeights(n, 1);
    const q = quantizeNf4(w, [n]);
    const direct = new Uint8Array(Math.ceil(n / 2));
    for (let b = 0; b * 64 < n; b++) {
      const block = w.subarray(b * 64, Math.min(n, (b + 1) * 64));
      const absmax = Math.max(...Array.from(block, Math.abs));
      block.forEach((x, j) => {
        const i = b * 64 + j;
        const code = bruteNearest(NF4_CODE, Math.fround(x * Math.fround(1 / absmax)));
        direct[i >> 1]! |= i % 2 === 0 ? code << 4 : code;
      });
    }
    expect([...q.codes]).toEqual([...direct]);
    // Both halves of a byte are used, so a swapped nibble order would fail.
    expect(q.codes.some((byte) => byte >> 4 !== (byte & 15))).toBe(true);
  });

  it('dequantizes to exactly code × block scale, and the scales to their 8-bit values', () => {
    const n = 64 * 600; // 600 blocks: three groups of 256 absmax values
    const w = randomWeights(n, 2);
    const q = quantizeNf4(w, [n]);
    const scales = blockScales(q);
    const deq = dequantizeNf4(q);
    for (let i = 0; i < n; i += 7) {
      const byte = q.codes[i >> 1]!;
      const idx = i % 2 === 0 ? byte >> 4 : byte & 15;
      expect(deq[i]).toBe(Math.fround(NF4_CODE[idx]! * scales[Math.floor(i / 64)]!));
    }
    // The double-quantized absmax is within half a step of the dynamic map (≤ 0.9/64 of the
    // group's scale near ±1) of the true one.
    for (let b = 0; b < 600; b++) {
      const absmax = Math.max(...Array.from(w.subarray(b * 64, b * 64 + 64), Math.abs));
      const groupScale = q.absmaxScales[Math.floor(b / 256)]!;
      expect(Math.abs(scales[b]! - absmax)).toBeLessThanOrEqual(
        (0.9 / 64 / 2) * groupScale * 1.001,
      );
    }
    // A weight that is exactly on the codebook comes back exactly (single block, scale 1 is a code).
    const exact = Float32Array.from({ length: 64 }, (_, i) => NF4_CODE[i % 16]!);
    expect([...dequantizeNf4(quantizeNf4(exact, [64]))]).toEqual([...exact]);
  });

  it('holds the NF4 codebook of bitsandbytes exactly', () => {
    // bitsandbytes functional.py (docs/methods.md#qlora-nf4-with-double-quantization): 7 negative
    // and 8 positive normal quantiles.
    const published = [
      -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
      -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
      0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
      0.7229568362236023, 1.0,
    ];
    expect([...NF4_CODE]).toEqual(published.map(Math.fround));
    // Every code is a fixed point of quantize→dequantize (block absmax 1).
    const codes = quantizeNf4(Float32Array.from(published), [16]);
    expect([...dequantizeNf4(codes)]).toEqual([...NF4_CODE]);
  });

  it('builds the 8-bit dynamic map of bitsandbytes', () => {
    expect(DYNAMIC_CODE.length).toBe(256);
    expect(DYNAMIC_CODE[255]).toBe(1);
    expect(DYNAMIC_CODE.filter((v) => v === 0).length).toBe(1);
    expect([...DYNAMIC_CODE]).toEqual([...DYNAMIC_CODE].sort((a, b) => a - b));
    expect(DYNAMIC_CODE[0]).toBeCloseTo(-0.99297, 4); // -(0.9859375 + 1) / 2
  });

  // wasm does int32 division in float32: this is where a naive shift-by-division unpacker breaks.
  it.each(['cpu', 'wasm'])(
    'the stock-op composite (the tensorflow path) unpacks on %s exactly as on the host',
    async (backend) => {
      if (backend === 'wasm') await startWasm();
      else await tf.setBackend('cpu');
      const shape = [97, 211]; // not a multiple of the block size
      const n = 97 * 211;
      const q = quantizeNf4(randomWeights(n, 3), shape);
      const t = nf4Tensors(q);
      const bytes = new Uint8Array(((await t.codes.data()) as Int32Array).buffer).subarray(
        0,
        q.codes.length,
      );
      expect([...bytes]).toEqual([...q.codes]);
      const device = dequantizeNf4Tensor(t, shape);
      expect(device.shape).toEqual(shape);
      expect([...((await device.data()) as Float32Array)]).toEqual([...dequantizeNf4(q)]);
      tf.dispose([device, t.codes, t.absmaxCodes, t.absmaxScales]);
    },
  );

  it('stores 4.127 bits per parameter', () => {
    const n = 4096 * 4096;
    expect((nf4Bytes(n) * 8) / n).toBeCloseTo(4 + 8 / 64 + 32 / (64 * 256), 4);
  });
});

describe.each(['cpu', 'wasm', 'webgpu'])('the Nf4Dequantize kernel on %s', (backend) => {
  // 3 groups of 256 blocks and a partial last block: every index path of the kernel.
  const shape = [13, 64 * 60 + 5];
  const n = 13 * (64 * 60 + 5);
  const q = quantizeNf4(randomWeights(n, 4), shape);

  it('equals the host dequantization exactly', async () => {
    if (!(await use(backend))) return;
    expect(hasNf4Kernel()).toBe(true);
    const t = nf4Tensors(q);
    const w = nf4DequantizeKernel(t, shape);
    expect(w.shape).toEqual(shape);
    expect(w.dtype).toBe('float32');
    const got = (await w.data()) as Float32Array;
    const want = dequantizeNf4(q);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches).toBe(0);
    tf.dispose([w, t.codes, t.absmaxCodes, t.absmaxScales]);
  });

  it('allocates only its output', async () => {
    if (!(await use(backend))) return;
    const t = nf4Tensors(q);
    const before = memory.liveBytes;
    memory.resetPeak();
    const w = nf4DequantizeKernel(t, shape);
    expect(memory.peakBytes - before).toBe(n * 4);
    tf.dispose([w, t.codes, t.absmaxCodes, t.absmaxScales]);
  });
});
