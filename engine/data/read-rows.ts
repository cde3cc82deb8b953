// One entry point for every supported file type: picks the reader by extension and yields
// records one at a time.
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { readDelimited } from './csv.js';
import type { TextEncoding } from './encoding.js';
import { readJson } from './json.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';
import { openText, type OnProblem, type SourceRow } from './source.js';
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

/**
 * Every record of `file`, its text decoded from `encoding` (default UTF-8; Parquet's strings are
 * UTF-8 by its format); records that cannot be read go to `onProblem`.
 */
export function readRows(
  file: string,
  onProblem: OnProblem,
  encoding?: TextEncoding,
): AsyncGenerator<SourceRow> {
  switch (fileTypeOf(file)) {
    case 'jsonl':
      return readJsonl(file, onProblem, encoding);
    case 'json':
      return readJson(file, onProblem, encoding);
    case 'csv':
      return readDelimited(file, ',', onProblem, encoding);
    case 'tsv':
      return readDelimited(file, '\t', onProblem, encoding);
    case 'parquet':
      return readParquet(file);
    case 'txt':
      return readTextFile(file, encoding);
  }
}

/** The first `n` records (a preview reads no further than it needs). */
export async function readFirstRows(
  file: string,
  n: number,
  onProblem: OnProblem,
  encoding?: TextEncoding,
): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  if (n <= 0) return rows;
  for await (const row of readRows(file, onProblem, encoding)) {
    rows.push(row);
    if (rows.length >= n) break;
  }
  return rows;
}

/** What a file of each type holds, for a user whose file holds nothing. */
const whatToWrite: Record<FileType, string> = {
  jsonl:
    'one JSON object per line, e.g. {"text": "..."} or {"instruction": "...", "output": "..."}',
  json: 'a list of records, e.g. [{"text": "..."}]',
  csv: 'a header line naming the columns (e.g. text,label), then one row per line',
  tsv: 'a header line naming the columns, tab-separated, then one row per line',
  parquet: 'rows (this one has none)',
  txt: 'paragraphs separated by blank lines, each one an example',
};

/**
 * The error for a file that yields no records and no problems: empty, only white space, or
 * (a CSV header, `[]`) nothing after the frame.
 */
export async function noRecordsError(file: string, encoding?: TextEncoding): Promise<Error> {
  const type = fileTypeOf(file);
  let what = 'has no records';
  if ((await stat(file)).size === 0) what = 'is empty';
  else if (type !== 'parquet' && (await isBlank(file, encoding))) what = 'holds only blank lines';
  return new WhetstoneError(
    'DATASET_INVALID',
    `${file} ${what}: there is nothing to train or evaluate on.`,
    `A .${type} dataset holds ${whatToWrite[type]}. Add rows, or pick another file.`,
  );
}

async function isBlank(file: string, encoding?: TextEncoding): Promise<boolean> {
  const stream = await openText(file, encoding);
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      if (/[^\s\ufeff]/.test(chunk)) return false;
    }
    return true;
  } finally {
    stream.destroy();
  }
}
