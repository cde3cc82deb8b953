// What every file reader yields: one record at a time with the line (or row) it came from, so
// any file streams with memory bounded by its largest record.
import { createReadStream, type ReadStream } from 'node:fs';
import { WhetstoneError } from '../errors.js';
import type { RowProblem } from './problems.js';

export interface SourceRow {
  /** 1-based line where the record starts (text files) or 1-based row (parquet). */
  line: number;
  /** 'row' where the file has no lines to point at (parquet, a JSON object of columns). */
  unit?: 'row';
  value: unknown;
}

export type OnProblem = (problem: RowProblem) => void;

/** Open `file` as a UTF-8 stream, turning a missing or unreadable file into DATASET_INVALID. */
export async function openText(file: string): Promise<ReadStream> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (err) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `Cannot read ${file}: ${(err as Error).message}`,
      'Check the path.',
    );
  }
  return stream;
}

/** Strip a UTF-8 byte order mark, which spreadsheet programs write at the start of CSV files. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
