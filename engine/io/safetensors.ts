// safetensors reader: the header is read and validated completely on open (so a broken file is
// refused before any weight is used), then each tensor is read from disk on demand, one at a time.
// Format: docs/formats.md#safetensors.
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { WhetstoneError } from '../errors.js';
import {
  DTYPE_BYTES,
  decodeValues,
  isSafetensorsDtype,
  type DecodedValues,
  type SafetensorsDtype,
} from './dtypes.js';

/** The safetensors reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range in the file (absolute, header included). */
  start: number;
  byteLength: number;
  /** Path of the file that holds the tensor. */
  file: string;
}

export interface ReadTensor {
  shape: number[];
  /** float32 for floating dtypes, int32 for integer and bool dtypes. */
  dtype: 'float32' | 'int32';
  values: DecodedValues;
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  /** Open a file and validate its header; any problem is a MODEL_FILE_INVALID naming the file. */
  static async open(path: string): Promise<SafetensorsFile> {
    if (endianness() !== 'LE') throw new Error('safetensors reading needs a little-endian host.');
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new WhetstoneError(
        'MODEL_NOT_FOUND',
        `Cannot open ${path}: ${(err as Error).message}`,
        'Check that the file exists and is readable.',
      );
    }
    try {
      const { size } = await handle.stat();
      const { tensors, metadata } = parseHeader(
        path,
        await readHeaderBytes(path, handle, size),
        size,
      );
      return new SafetensorsFile(path, handle, tensors, metadata);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new WhetstoneError('TENSOR_MISSING', `${this.path} has no tensor "${name}".`);
    return info;
  }

  /** The tensor's bytes exactly as stored. */
  async readRaw(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    // A fresh buffer: offset 0, so typed-array views over it are aligned.
    const bytes = new Uint8Array(info.byteLength);
    let done = 0;
    while (done < info.byteLength) {
      const { bytesRead } = await this.handle.read(
        bytes,
        done,
        info.byteLength - done,
        info.start + done,
      );
      if (bytesRead === 0) {
        throw invalid(
          this.path,
          `ended while reading tensor "${name}" (the file was shortened after it was opened).`,
        );
      }
      done += bytesRead;
    }
    return bytes;
  }

  /** The tensor converted to float32 (floating dtypes) or int32 (integer dtypes). */
  async read(name: string): Promise<ReadTensor> {
    const info = this.info(name);
    const bytes = await this.readRaw(name);
    let values: DecodedValues;
    try {
      values = decodeValues(info.dtype, bytes);
    } catch (err) {
      throw invalid(this.path, `tensor "${name}": ${(err as Error).message}`);
    }
    return {
      shape: info.shape,
      dtype: values instanceof Float32Array ? 'float32' : 'int32',
      values,
    };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function invalid(path: string, problem: string): WhetstoneError {
  return new WhetstoneError(
    'MODEL_FILE_INVALID',
    `${path} is not a valid safetensors file: ${problem}`,
    'The file is damaged or incomplete: download or export it again.',
  );
}

async function readHeaderBytes(path: string, handle: FileHandle, size: number): Promise<Buffer> {
  if (size < 8)
    throw invalid(path, `it is ${size} bytes long, shorter than the 8-byte header length.`);
  const prefix = Buffer.alloc(8);
  await handle.read(prefix, 0, 8, 0);
  const length = prefix.readBigUInt64LE(0);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw invalid(
      path,
      `the header length is ${length} bytes, above the ${MAX_HEADER_BYTES}-byte limit (is it a safetensors file at all?).`,
    );
  }
  const headerLength = Number(length);
  if (8 + headerLength > size) {
    throw invalid(
      path,
      `the header length (${headerLength} bytes) runs past the end of the file (${size} bytes); the file is truncated.`,
    );
  }
  const header = Buffer.alloc(headerLength);
  await handle.read(header, 0, headerLength, 8);
  return header;
}

interface ParsedHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

function parseHeader(path: string, header: Buffer, fileSize: number): ParsedHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
  } catch (err) {
    throw invalid(path, `the header is not valid JSON (${(err as Error).message}).`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid(path, 'the header is not a JSON object.');
  }
  const dataStart = 8 + header.length;
  const dataLength = fileSize - dataStart;
  const metadata = parseMetadata(path, (json as Record<string, unknown>).__metadata__);
  const entries: TensorInfo[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const entry = parseEntry(path, name, value);
    if (entry.end > dataLength) {
      throw invalid(
        path,
        `tensor "${name}" ends at byte ${entry.end} of the data, but the file holds only ${dataLength} data bytes (truncated?).`,
      );
    }
    entries.push({
      name,
      dtype: entry.dtype,
      shape: entry.shape,
      start: dataStart + entry.begin,
      byteLength: entry.end - entry.begin,
      file: path,
    });
  }
  entries.sort((a, b) => a.start - b.start || a.byteLength - b.byteLength);
  let expected = dataStart;
  for (const [i, e] of entries.entries()) {
    if (e.start < expected) {
      throw invalid(path, `tensors "${entries[i - 1]!.name}" and "${e.name}" overlap.`);
    }
    if (e.start > expected) {
      throw invalid(
        path,
        `there is a gap of ${e.start - expected} bytes before tensor "${e.name}" (the format has no holes).`,
      );
    }
    expected = e.start + e.byteLength;
  }
  return { tensors: new Map(entries.map((e) => [e.name, e])), metadata };
}

function parseMetadata(path: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const ok =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string');
  if (!ok) throw invalid(path, '"__metadata__" must map strings to strings.');
  return value as Record<string, string>;
}

interface Entry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(path: string, name: string, value: unknown): Entry {
  const bad = (problem: string) => invalid(path, `tensor "${name}" ${problem}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('is not described by an object.');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad('has no dtype.');
  if (!isSafetensorsDtype(dtype)) {
    throw bad(
      `has dtype "${dtype}", which Whetstone cannot read (known: ${Object.keys(DTYPE_BYTES).join(', ')}).`,
    );
  }
  const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount))
    throw bad('has a shape that is not a list of non-negative integers.');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw bad('has data_offsets that are not two non-negative integers [begin, end].');
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw bad(`has data_offsets [${begin}, ${end}] that end before they begin.`);
  const elements = shape.reduce((a, b) => a * b, 1);
  const expected = elements * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw bad(
      `has shape [${shape.join(', ')}] of ${dtype} (${expected} bytes), but its data_offsets span ${end - begin} bytes.`,
    );
  }
  return { dtype, shape: shape, begin, end };
}
