// GGUF v3 writer (ggml docs/gguf.md): header, typed key/value metadata, tensor infos with their
// dimensions fastest-first, then the tensor data, each tensor 32-byte aligned. Tensors are
// produced and written one at a time into a temporary file renamed into place at the end.
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WhetstoneError } from '../../errors.js';
import { GGML, rowBytes, type GgmlType } from './ggml-types.js';

export const GGUF_ALIGNMENT = 32;

/** Metadata value types, numbered as in ggml's GGUF specification (docs/gguf.md). */
export const GGUF_VALUE = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'i32[]'; value: ArrayLike<number> }
  | { type: 'f32[]'; value: ArrayLike<number> };

/** Metadata in file order. */
export type GgufMetadata = Map<string, GgufValue>;

export interface GgufTensor {
  /** llama.cpp's name, at most 63 bytes. */
  name: string;
  /** Shape as PyTorch gives it (slowest dimension first); written reversed. */
  shape: number[];
  type: GgmlType;
  /** The tensor's bytes in `type`, produced when it is written. */
  data: () => Promise<Uint8Array>;
}

/** Appends little-endian values to a growing byte buffer. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u32(v: number) {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number) {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number) {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number) {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array) {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number) {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case 'u32':
      sink.u32(GGUF_VALUE.UINT32);
      return sink.u32(v.value);
    case 'i32':
      sink.u32(GGUF_VALUE.INT32);
      return sink.i32(v.value);
    case 'f32':
      sink.u32(GGUF_VALUE.FLOAT32);
      return sink.f32(v.value);
    case 'bool':
      sink.u32(GGUF_VALUE.BOOL);
      return sink.u8(v.value ? 1 : 0);
    case 'string':
      sink.u32(GGUF_VALUE.STRING);
      return sink.string(v.value);
    case 'string[]':
      sink.u32(GGUF_VALUE.ARRAY);
      sink.u32(GGUF_VALUE.STRING);
      sink.u64(v.value.length);
      for (const s of v.value) sink.string(s);
      return;
    case 'i32[]':
    case 'f32[]':
      sink.u32(GGUF_VALUE.ARRAY);
      sink.u32(v.type === 'i32[]' ? GGUF_VALUE.INT32 : GGUF_VALUE.FLOAT32);
      sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) {
        if (v.type === 'i32[]') sink.i32(v.value[i]!);
        else sink.f32(v.value[i]!);
      }
      return;
  }
}

/** Bytes a tensor takes: rows of its fastest dimension in its type. */
export function tensorBytes(t: Pick<GgufTensor, 'shape' | 'type'>): number {
  const inner = t.shape[t.shape.length - 1]!;
  const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return rows * rowBytes(t.type, inner);
}

const aligned = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;

/** The header, metadata and tensor infos, padded to where the tensor data starts. */
export function ggufPreamble(metadata: GgufMetadata, tensors: readonly GgufTensor[]): Uint8Array {
  const sink = new ByteSink();
  sink.bytes(new TextEncoder().encode('GGUF'));
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.size);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }
  let offset = 0;
  for (const t of tensors) {
    if (new TextEncoder().encode(t.name).length > 63) {
      throw new WhetstoneError('INTERNAL', `GGUF tensor name ${t.name} is longer than 63 bytes.`);
    }
    sink.string(t.name);
    sink.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) sink.u64(t.shape[d]!);
    sink.u32(GGML[t.type]);
    sink.u64(offset);
    offset = aligned(offset + tensorBytes(t));
  }
  sink.pad(GGUF_ALIGNMENT);
  return sink.result();
}

export interface WriteGgufOptions {
  force?: boolean;
  /** Bytes of tensor data written so far, of all; called before each tensor and at the end. */
  onProgress?: (done: number, total: number) => void;
}

/** Write `file` atomically: a temporary sibling is filled, then renamed into place. */
export async function writeGguf(
  file: string,
  metadata: GgufMetadata,
  tensors: readonly GgufTensor[],
  opts: WriteGgufOptions = {},
): Promise<{ bytes: number }> {
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists && !opts.force) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${file} already exists.`,
      'Choose another --out file, or pass --force to replace it.',
    );
  }
  const temp = `${file}.partial-${process.pid}`;
  await mkdir(dirname(file), { recursive: true });
  const handle = await open(temp, 'w');
  try {
    const preamble = ggufPreamble(metadata, tensors);
    await handle.write(preamble);
    let position = preamble.length;
    const total = tensors.reduce((sum, t) => sum + tensorBytes(t), 0);
    let done = 0;
    for (const [i, t] of tensors.entries()) {
      opts.onProgress?.(done, total);
      done += tensorBytes(t);
      const bytes = await t.data();
      if (bytes.length !== tensorBytes(t)) {
        throw new WhetstoneError(
          'INTERNAL',
          `GGUF tensor ${t.name}: ${bytes.length} bytes produced, ${tensorBytes(t)} expected.`,
        );
      }
      await handle.write(bytes);
      position += bytes.length;
      const pad = aligned(position) - position;
      if (pad > 0 && i < tensors.length - 1) {
        await handle.write(new Uint8Array(pad));
        position += pad;
      }
    }
    opts.onProgress?.(total, total);
    await handle.close();
    await rename(temp, file);
    return { bytes: position };
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
