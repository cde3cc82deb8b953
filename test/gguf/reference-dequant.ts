// Dequantization written from ggml's block layouts (ggml-common.h) independently of the engine's
// quantizers, element by element: value i of block b is located, then scaled.

function half(bytes: Uint8Array, at: number): number {
  const bits = bytes[at]! | (bytes[at + 1]! << 8);
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  const s = bits >> 15 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

const i8 = (v: number) => (v > 127 ? v - 256 : v);

/** ggml type id -> [values per block, bytes per block, value i of the block at `at`]. */
const layouts: Record<number, [number, number, (b: Uint8Array, at: number, i: number) => number]> =
  {
    // Q8_0: d, qs[32]
    8: [32, 34, (b, at, i) => half(b, at) * i8(b[at + 2 + i]!)],
    // Q4_0: d, qs[16]; i < 16 low nibble of qs[i], else high nibble of qs[i-16]
    2: [
      32,
      18,
      (b, at, i) => half(b, at) * (((b[at + 2 + (i % 16)]! >> (i < 16 ? 0 : 4)) & 15) - 8),
    ],
    // Q5_0: d, qh (u32), qs[16]; fifth bit i of qh
    6: [
      32,
      22,
      (b, at, i) => {
        const qh = (b[at + 2]! | (b[at + 3]! << 8) | (b[at + 4]! << 16)) + b[at + 5]! * 2 ** 24;
        const low = (b[at + 6 + (i % 16)]! >> (i < 16 ? 0 : 4)) & 15;
        const high = Math.floor(qh / 2 ** i) % 2;
        return half(b, at) * (low + 16 * high - 16);
      },
    ],
    // Q4_K: d, dmin, scales[12] (6-bit scale and min per 32), qs[128] (64 values per 32 bytes)
    12: [
      256,
      144,
      (b, at, i) => {
        const j = Math.floor(i / 32);
        const sc = at + 4;
        const scale =
          j < 4 ? b[sc + j]! & 63 : (b[sc + j + 4]! & 15) | ((b[sc + j - 4]! >> 6) << 4);
        const min = j < 4 ? b[sc + j + 4]! & 63 : (b[sc + j + 4]! >> 4) | ((b[sc + j]! >> 6) << 4);
        const byte = b[at + 16 + Math.floor(i / 64) * 32 + (i % 32)]!;
        const q = j % 2 === 0 ? byte & 15 : byte >> 4;
        return half(b, at) * scale * q - half(b, at + 2) * min;
      },
    ],
    // Q6_K: ql[128], qh[64], scales[16] (int8, one per 16), d
    14: [
      256,
      210,
      (b, at, i) => {
        const n = Math.floor(i / 128); // 128-value half
        const r = i % 128;
        const l = r % 32;
        const part = Math.floor(r / 32);
        const ql = b[at + 64 * n + l + (part % 2) * 32]!;
        const low = part < 2 ? ql & 15 : ql >> 4;
        const high = (b[at + 128 + 32 * n + l]! >> (2 * part)) & 3;
        const scale = i8(b[at + 192 + 8 * n + Math.floor(l / 16) + 2 * part]!);
        return half(b, at + 208) * scale * (low + 16 * high - 32);
      },
    ],
  };

export function referenceBlockSize(type: number): { values: number; bytes: number } {
  const [values, bytes] = layouts[type]!;
  return { values, bytes };
}

/** The `n` values stored in `bytes` as ggml type `type`. */
export function referenceDequantize(type: number, bytes: Uint8Array, n: number): Float64Array {
  const [values, size, value] = layouts[type]!;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = value(bytes, Math.floor(i / values) * size, i % values);
  }
  return out;
}
