// ggml tensor types a GGUF file can hold here: their ids, block sizes and bytes per block, as
// ggml's docs/gguf.md and ggml.h number them.

export const GGML = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q5_0: 6,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
  BF16: 30,
} as const;
export type GgmlType = keyof typeof GGML;

/** Values per block and bytes per block of each type. */
const layout: Record<GgmlType, [values: number, bytes: number]> = {
  F32: [1, 4],
  F16: [1, 2],
  BF16: [1, 2],
  Q8_0: [32, 34], // fp16 scale + 32 int8
  Q4_0: [32, 18], // fp16 scale + 16 bytes of nibbles
  Q5_0: [32, 22], // fp16 scale + 4 bytes of fifth bits + 16 bytes of nibbles
  Q4_K: [256, 144], // fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
  Q6_K: [256, 210], // 128 bytes low nibbles, 64 bytes high bits, 16 int8 scales, fp16 d
};

export function blockValues(type: GgmlType): number {
  return layout[type][0];
}

/** Bytes of a row of `n` values (n a multiple of the block size). */
export function rowBytes(type: GgmlType, n: number): number {
  const [values, bytes] = layout[type];
  if (n % values !== 0) {
    throw new Error(`A ${type} row needs a multiple of ${values} values; got ${n}.`);
  }
  return (n / values) * bytes;
}

/** Bits per weight of a type: bytes per block * 8 / values per block. */
export function bitsPerWeight(type: GgmlType): number {
  const [values, bytes] = layout[type];
  return (bytes * 8) / values;
}
