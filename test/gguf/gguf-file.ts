// A small GGUF reader for tests, written apart from the engine's writer: metadata values, tensor
// infos and data, and a copy of a file with one key removed or replaced (raw bytes kept).
import { readFileSync, writeFileSync } from 'node:fs';

export interface GgufTensorInfo {
  name: string;
  /** As stored: fastest dimension first. */
  dims: number[];
  type: number;
  offset: number;
}

export interface GgufEntry {
  key: string;
  value: unknown;
  /** The entry's bytes (key and value) as stored. */
  raw: Uint8Array;
}

export interface ParsedGguf {
  version: number;
  entries: GgufEntry[];
  tensors: GgufTensorInfo[];
  /** Raw tensor-info bytes. */
  infoRaw: Uint8Array;
  alignment: number;
  dataStart: number;
  bytes: Uint8Array;
}

export function parseGguf(file: string): ParsedGguf {
  const bytes = new Uint8Array(readFileSync(file));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const u32 = () => ((p += 4), view.getUint32(p - 4, true));
  const u64 = () => ((p += 8), Number(view.getBigUint64(p - 8, true)));
  const str = () => {
    const n = u64();
    p += n;
    return new TextDecoder().decode(bytes.subarray(p - n, p));
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case 0:
        return bytes[p++];
      case 1:
        return ((p += 1), view.getInt8(p - 1));
      case 2:
        return ((p += 2), view.getUint16(p - 2, true));
      case 3:
        return ((p += 2), view.getInt16(p - 2, true));
      case 4:
        return u32();
      case 5:
        return ((p += 4), view.getInt32(p - 4, true));
      case 6:
        return ((p += 4), view.getFloat32(p - 4, true));
      case 7:
        return bytes[p++] !== 0;
      case 8:
        return str();
      case 10:
        return u64();
      case 11:
        return ((p += 8), Number(view.getBigInt64(p - 8, true)));
      case 12:
        return ((p += 8), view.getFloat64(p - 8, true));
      case 9: {
        const inner = u32();
        const n = u64();
        return Array.from({ length: n }, () => scalar(inner));
      }
      default:
        throw new Error(`GGUF value type ${type} unknown`);
    }
  };
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== 'GGUF') throw new Error(`${file} is not GGUF`);
  p = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const entries: GgufEntry[] = [];
  for (let i = 0; i < kvCount; i++) {
    const start = p;
    const key = str();
    const value = scalar(u32());
    entries.push({ key, value, raw: bytes.slice(start, p) });
  }
  const infoStart = p;
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const n = u32();
    const dims = Array.from({ length: n }, () => u64());
    tensors.push({ name, dims, type: u32(), offset: u64() });
  }
  const alignment = (entries.find((e) => e.key === 'general.alignment')?.value as number) ?? 32;
  const dataStart = Math.ceil(p / alignment) * alignment;
  return {
    version,
    entries,
    tensors,
    infoRaw: bytes.slice(infoStart, p),
    alignment,
    dataStart,
    bytes,
  };
}

/** Metadata as a plain object. */
export function ggufMetadata(g: ParsedGguf): Record<string, unknown> {
  return Object.fromEntries(g.entries.map((e) => [e.key, e.value]));
}

/** The raw bytes of tensor `name` (`size` bytes from its offset). */
export function tensorData(g: ParsedGguf, name: string, size: number): Uint8Array {
  const t = g.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return g.bytes.subarray(g.dataStart + t.offset, g.dataStart + t.offset + size);
}

/** Encode one entry (key, type, value) the way the GGUF specification lays it out. */
export function encodeEntry(key: string, type: 'u32' | 'f32' | 'string', value: number | string) {
  const k = new TextEncoder().encode(key);
  const v = typeof value === 'string' ? new TextEncoder().encode(value) : undefined;
  const out = new Uint8Array(8 + k.length + 4 + (v ? 8 + v.length : 4));
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(k.length), true);
  out.set(k, 8);
  let p = 8 + k.length;
  view.setUint32(p, type === 'u32' ? 4 : type === 'f32' ? 6 : 8, true);
  p += 4;
  if (type === 'u32') view.setUint32(p, value as number, true);
  else if (type === 'f32') view.setFloat32(p, value as number, true);
  else {
    view.setBigUint64(p, BigInt(v!.length), true);
    out.set(v!, p + 8);
  }
  return out;
}

/** Write a copy of `g` with the entry `key` removed (or replaced by `replacement`). */
export function rewriteGguf(g: ParsedGguf, out: string, key: string, replacement?: Uint8Array) {
  const kept = g.entries.flatMap((e) =>
    e.key !== key ? [e.raw] : replacement ? [replacement] : [],
  );
  if (kept.length === g.entries.length && !replacement) throw new Error(`no key ${key}`);
  const head = new Uint8Array(24);
  const view = new DataView(head.buffer);
  head.set(g.bytes.subarray(0, 8));
  view.setBigUint64(8, BigInt(g.tensors.length), true);
  view.setBigUint64(16, BigInt(kept.length), true);
  const parts = [head, ...kept, g.infoRaw];
  const length = parts.reduce((a, b) => a + b.length, 0);
  parts.push(new Uint8Array(Math.ceil(length / g.alignment) * g.alignment - length));
  parts.push(g.bytes.subarray(g.dataStart));
  writeFileSync(out, Buffer.concat(parts));
}
