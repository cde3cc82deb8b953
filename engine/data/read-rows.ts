// One entry point for every supported file type: picks the reader by extension and yields
// records one at a time.
import { extname } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { readDelimited } from './csv.js';
import { readJson } from './json.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';
import type { OnProblem, SourceRow } from './source.js';
import { readTextFile } from './text-file.js';

export const fileTypes = ['jsonl', 'json', 'csv', 'tsv', 'parquet', 'txt'] as const;
export type FileType = (typeof fileTypes)[number];

const extensions: Record<string, FileType> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.parquet': 'parquet',
  '.txt': 'txt',
  '.text': 'txt',
  '.md': 'txt',
};

/** The file type by extension; an unknown one is a DATASET_INVALID with the supported list. */
export function fileTypeOf(file: string): FileType {
  const type = extensions[extname(file).toLowerCase()];
  if (type === undefined) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file}: unsupported file type "${extname(file) || '(none)'}".`,
      `Supported: ${Object.keys(extensions).join(', ')}. Rename the file if it is one of these.`,
    );
  }
  return type;
}

/** Every record of `file`; records that cannot be read go to `onProblem`. */
export function readRows(file: string, onProblem: OnProblem): AsyncGenerator<SourceRow> {
  switch (fileTypeOf(file)) {
    case 'jsonl':
      return readJsonl(file, onProblem);
    case 'json':
      return readJson(file, onProblem);
    case 'csv':
      return readDelimited(file, ',', onProblem);
    case 'tsv':
      return readDelimited(file, '\t', onProblem);
    case 'parquet':
      return readParquet(file);
    case 'txt':
      return readTextFile(file);
  }
}

/** The first `n` records (a preview reads no further than it needs). */
export async function readFirstRows(
  file: string,
  n: number,
  onProblem: OnProblem,
): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  if (n <= 0) return rows;
  for await (const row of readRows(file, onProblem)) {
    rows.push(row);
    if (rows.length >= n) break;
  }
  return rows;
}
