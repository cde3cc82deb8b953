// What every file reader yields: one record at a time with the line (or row) it came from, so
// any file streams with memory bounded by its largest record.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { WhetstoneError } from '../errors.js';
import { decodeChunks, type TextEncoding } from './encoding.js';
import type { RowProblem } from './problems.js';

export interface SourceRow {
  /** 1-based line where the record starts (text files) or 1-based row (parquet). */
  line: number;
  /** 'row' where the file has no lines to point at (parquet, a JSON object of columns). */
  unit?: 'row';
  value: unknown;
}

export type OnProblem = (problem: RowProblem) => void;

/**
 * Open `file` as a stream of text decoded from `encoding` (a stream error: invalid UTF-8 with its
 * line), turning a missing or unreadable file into DATASET_INVALID.
 */
export async function openText(file: string, encoding: TextEncoding = 'utf-8'): Promise<Readable> {
  const bytes = createReadStream(file, { highWaterMark: 1 << 16 });
  try {
    await new Promise<void>((resolve, reject) => {
      bytes.once('open', () => resolve());
      bytes.once('error', reject);
    });
  } catch (err) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `Cannot read ${file}: ${(err as Error).message}`,
      'Check the path.',
    );
  }
  const text = Readable.from(decodeChunks(bytes, file, encoding));
  // Closed before its first read, the decoder never runs: the file is closed here instead.
  text.once('close', () => bytes.destroy());
  return text;
}

/** Strip a UTF-8 byte order mark, which spreadsheet programs write at the start of CSV files. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
