// safetensors writer: the header is computed from shapes alone, then tensors are produced and
// written one at a time (a lazy `data` keeps only one tensor in memory). Files are written under a
// temporary name and renamed into place, so a crash never leaves a half-written file behind.
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DTYPE_BYTES, encodeValues, type NumericArray, type SafetensorsDtype } from './dtypes.js';

export interface WriteEntry {
  name: string;
  shape: number[];
  dtype: SafetensorsDtype;
  /**
   * The values, converted to `dtype` on write; a Uint8Array is taken as the raw stored bytes.
   * A function is called only when the tensor is written.
   */
  data: NumericArray | (() => Promise<NumericArray>);
}

export interface ShardOptions {
  /** Shards hold at most this many bytes of tensor data (a larger tensor gets a shard alone). */
  maxShardBytes: number;
  metadata?: Record<string, string>;
  /** File name stem: `model` gives model-00001-of-00002.safetensors and model.safetensors.index.json. */
  stem?: string;
}

export interface ShardedResult {
  /** File names (in `dir`) of the shards, plus the index when there is more than one shard. */
  files: string[];
  totalBytes: number;
}

/** Bytes one entry occupies in the data section. */
export function entryBytes(entry: Pick<WriteEntry, 'shape' | 'dtype'>): number {
  return entry.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[entry.dtype];
}

/** Write one safetensors file atomically. */
export async function writeSafetensors(
  path: string,
  entries: WriteEntry[],
  metadata?: Record<string, string>,
): Promise<void> {
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new Error(`Tensor "${e.name}" appears twice.`);
    if (e.name === '__metadata__')
      throw new Error('"__metadata__" is reserved and cannot name a tensor.');
    names.add(e.name);
  }
  const header = encodeHeader(entries, metadata);
  const temp = join(dirname(path), `.${basename(path)}.partial-${process.pid}`);
  const handle = await open(temp, 'w');
  try {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    await handle.write(prefix);
    await handle.write(header);
    for (const entry of entries) await handle.write(await entryData(entry));
    await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Write `entries` as shards of at most `maxShardBytes` with a Hugging Face index
 * (`model.safetensors.index.json`). One shard only is written as `model.safetensors`, no index,
 * as transformers does. The index is written last, so it never names a missing shard.
 */
export async function writeShardedSafetensors(
  dir: string,
  entries: WriteEntry[],
  opts: ShardOptions,
): Promise<ShardedResult> {
  const stem = opts.stem ?? 'model';
  const groups = groupShards(entries, opts.maxShardBytes);
  const totalBytes = entries.reduce((sum, e) => sum + entryBytes(e), 0);
  if (groups.length <= 1) {
    await writeSafetensors(join(dir, `${stem}.safetensors`), entries, opts.metadata);
    return { files: [`${stem}.safetensors`], totalBytes };
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const files = groups.map((_, i) => `${stem}-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const [i, group] of groups.entries()) {
    await writeSafetensors(join(dir, files[i]!), group, opts.metadata);
    for (const e of group) weightMap[e.name] = files[i]!;
  }
  const indexName = `${stem}.safetensors.index.json`;
  const index = { metadata: { total_size: totalBytes }, weight_map: weightMap };
  const temp = join(dir, `.${indexName}.partial-${process.pid}`);
  await writeFile(temp, `${JSON.stringify(index, null, 2)}\n`);
  await rename(temp, join(dir, indexName));
  return { files: [...files, indexName], totalBytes };
}

function groupShards(entries: WriteEntry[], maxBytes: number): WriteEntry[][] {
  if (!(maxBytes > 0)) throw new Error(`maxShardBytes must be positive, got ${maxBytes}.`);
  const groups: WriteEntry[][] = [];
  let current: WriteEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entry);
    if (current.length > 0 && bytes + size > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The JSON header, padded with spaces to a multiple of 8 bytes so the data stays aligned. */
function encodeHeader(entries: WriteEntry[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const e of entries) {
    const size = entryBytes(e);
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  return padded;
}

async function entryData(entry: WriteEntry): Promise<Uint8Array> {
  const values = typeof entry.data === 'function' ? await entry.data() : entry.data;
  let bytes: Uint8Array;
  try {
    bytes = values instanceof Uint8Array ? values : encodeValues(entry.dtype, values);
  } catch (err) {
    throw new Error(`Tensor "${entry.name}": ${(err as Error).message}`, { cause: err });
  }
  const expected = entryBytes(entry);
  if (bytes.byteLength !== expected) {
    const what =
      values instanceof Uint8Array ? `${bytes.byteLength} raw bytes` : `${values.length} values`;
    throw new Error(
      `Tensor "${entry.name}" has shape [${entry.shape.join(', ')}] of ${entry.dtype} (${expected} bytes) but was given ${what}.`,
    );
  }
  return bytes;
}
