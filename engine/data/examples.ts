// A file's records as Examples of its detected format, streamed; detection reads the first rows.
import { detectFormat, type DataChoices, type Detection } from './detect.js';
import { toExample, type Example } from './formats.js';
import type { RowProblem } from './problems.js';
import { readFirstRows, readRows } from './read-rows.js';

/** Rows read to detect the format: enough to see a few label values, cheap on any file. */
export const DETECT_ROWS = 200;

export interface LocatedExample {
  line: number;
  unit?: 'row';
  example: Example;
}

/** Detect the format of `file` from its first rows (and the user's choices). */
export async function detectFile(file: string, choices: DataChoices = {}): Promise<Detection> {
  const rows = await readFirstRows(file, DETECT_ROWS, () => undefined);
  return detectFormat(rows, file, choices);
}

/** Every usable row as an Example; every problem (bad JSON, missing fields...) to `onProblem`. */
export async function* readExamples(
  file: string,
  detection: Detection,
  onProblem: (p: RowProblem) => void,
  onRow?: (value: unknown) => void,
  limit = Infinity,
): AsyncGenerator<LocatedExample> {
  let read = 0;
  for await (const row of readRows(file, onProblem)) {
    onRow?.(row.value);
    const example = toExample(row, detection.spec, file, onProblem);
    if (example) yield { line: row.line, ...(row.unit && { unit: row.unit }), example };
    if (++read >= limit) return;
  }
}
