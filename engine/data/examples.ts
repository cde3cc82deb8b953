// A file's records as Examples of its detected format, streamed; detection reads the first rows.
import { detectFormat, type DataChoices, type Detection } from './detect.js';
import { toExample, type Example } from './formats.js';
import type { RowProblem } from './problems.js';
import { noRecordsError, readFirstRows, readRows } from './read-rows.js';

/** Rows read to detect the format: enough to see a few label values, cheap on any file. */
export const DETECT_ROWS = 200;

export interface LocatedExample {
  line: number;
  unit?: 'row';
  example: Example;
}

/** Detect the format of `file` from its first rows (and the user's choices). */
export async function detectFile(file: string, choices: DataChoices = {}): Promise<Detection> {
  const { encoding } = choices;
  let problems = 0;
  const rows = await readFirstRows(file, DETECT_ROWS, () => problems++, encoding);
  if (rows.length === 0 && problems === 0) throw await noRecordsError(file, encoding);
  return { ...detectFormat(rows, file, choices), ...(encoding && { encoding }) };
}

export interface ReadHooks {
  /** Every record read, valid or not. */
  onRow?: (value: unknown) => void;
  /** A record the reader could not read at all (bad JSON, a CSV row with too many fields). */
  onUnreadable?: () => void;
  /** Stop after this many records. */
  limit?: number;
}

/** Every usable row as an Example; every problem (bad JSON, missing fields...) to `onProblem`. */
export async function* readExamples(
  file: string,
  detection: Detection,
  onProblem: (p: RowProblem) => void,
  hooks: ReadHooks = {},
): AsyncGenerator<LocatedExample> {
  const { onRow, onUnreadable, limit = Infinity } = hooks;
  let read = 0;
  const readerProblem = (p: RowProblem) => {
    onProblem(p);
    onUnreadable?.();
  };
  for await (const row of readRows(file, readerProblem, detection.encoding)) {
    onRow?.(row.value);
    const example = toExample(row, detection.spec, file, onProblem);
    if (example) yield { line: row.line, ...(row.unit && { unit: row.unit }), example };
    if (++read >= limit) return;
  }
}
