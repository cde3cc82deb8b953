// Parquet datasets (the Hugging Face Hub's format) through hyparquet, read one row group at a
// time so memory is bounded by a row group; snappy, gzip, zstd (and brotli, lz4) decompress.
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { WhetstoneError } from '../errors.js';
import type { SourceRow } from './source.js';

async function open(file: string) {
  try {
    const buffer = await asyncBufferFromFile(file);
    const metadata = await parquetMetadataAsync(buffer);
    return { buffer, metadata };
  } catch (err) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file} is not a readable parquet file: ${(err as Error).message}`,
      'Check that the download finished (a Git LFS pointer is a small text file), or export the data again.',
    );
  }
}

export async function* readParquet(file: string): AsyncGenerator<SourceRow> {
  const { buffer, metadata } = await open(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors });
    } catch (err) {
      throw new WhetstoneError(
        'DATASET_INVALID',
        `${file}: rows ${rowStart + 1}–${rowEnd} cannot be decoded: ${(err as Error).message}`,
        'The file may be truncated or use an encoding this reader lacks; export it again with pyarrow or datasets.',
      );
    }
    for (const [i, row] of rows.entries()) {
      yield { line: rowStart + i + 1, unit: 'row', value: plain(row) };
    }
    rowStart = rowEnd;
  }
}

/** Column names of a parquet file and its row count, from the footer alone. */
export async function parquetInfo(file: string): Promise<{ columns: string[]; rows: number }> {
  const { metadata } = await open(file);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  return { columns, rows: Number(metadata.num_rows) };
}

/** Int64 columns arrive as bigint, which JSON and label comparisons do not handle. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}
