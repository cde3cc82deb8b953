// .json datasets: a top-level array of records, streamed element by element (memory bounded by
// the largest record), or an object — of columns ({"text": [...], "label": [...]}) or holding
// one array of records ({"data": [...]}) — which has to be read whole.
import { WhetstoneError } from '../errors.js';
import { readTextWhole, type TextEncoding } from './encoding.js';
import { openText, stripBom, type OnProblem, type SourceRow } from './source.js';

export async function* readJson(
  file: string,
  onProblem: OnProblem,
  encoding?: TextEncoding,
): AsyncGenerator<SourceRow> {
  const stream = await openText(file, encoding);
  let kind: '[' | '{' | undefined;
  let blank = true; // nothing but white space so far: no records, not a malformed file
  try {
    let buf = '';
    let line = 1;
    let depth = 0; // nesting below the top-level array
    let inString = false;
    let escaped = false;
    let start = -1; // where the current element begins in buf
    let startLine = 0;
    let first = true;
    let closed = false; // the top-level array has ended
    for await (const chunk of stream as AsyncIterable<string>) {
      let i = buf.length; // what came before is scanned already
      buf += first ? stripBom(chunk) : chunk;
      first = false;
      if (kind === undefined) {
        const m = /\S/.exec(buf);
        if (!m) continue;
        blank = false;
        kind = m[0] === '[' ? '[' : m[0] === '{' ? '{' : undefined;
        if (kind !== '[') break;
        line += countLines(buf, 0, m.index);
        i = m.index + 1;
      }
      const rows: SourceRow[] = [];
      for (; i < buf.length && !closed; i++) {
        const c = buf.charCodeAt(i);
        if (c === 10) line++;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true;
          else if (c === 34) inString = false;
          continue;
        }
        if (c === 34) inString = true;
        const opens = c === 123 || c === 91; // { [
        const closes = c === 125 || c === 93; // } ]
        if (depth === 0 && (c === 44 || c === 93)) {
          // ',' or the final ']' ends an element of the top-level array.
          if (start >= 0) {
            rows.push(parseElement(buf.slice(start, i), startLine, file, onProblem));
            start = -1;
          }
          if (c === 93) closed = true;
          continue;
        }
        if (start < 0 && !isSpace(c)) {
          start = i;
          startLine = line;
        }
        if (opens) depth++;
        else if (closes) depth--;
      }
      // Anything but white space after the final ']' (only this chunk is looked at).
      const trailing = closed ? /\S/.exec(buf.slice(i)) : null;
      if (trailing) line += countLines(buf, i, i + trailing.index);
      // Keep only the unfinished element.
      if (start >= 0) {
        buf = buf.slice(start);
        start = 0;
      } else buf = '';
      for (const row of rows) if (row.value !== undefined) yield row;
      if (trailing)
        onProblem({ file, line, message: 'text after the end of the JSON array (ignored)' });
      if (closed) break;
    }
  } finally {
    stream.destroy();
  }
  if (kind === '{') yield* readJsonObject(file, onProblem, encoding);
  else if (kind === undefined && !blank) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file} is neither a JSON array of records nor a JSON object of columns.`,
      'Write [{"text": "..."}, ...] or {"text": [...], "label": [...]}, or use JSON Lines (.jsonl).',
    );
  }
}

function parseElement(text: string, line: number, file: string, onProblem: OnProblem): SourceRow {
  try {
    return { line, value: JSON.parse(text) };
  } catch (err) {
    onProblem({ file, line, message: `not valid JSON (${(err as Error).message})` });
    return { line, value: undefined };
  }
}

/** An object of equal-length columns, or an object with one array of records in it. */
async function* readJsonObject(
  file: string,
  onProblem: OnProblem,
  encoding: TextEncoding = 'utf-8',
): AsyncGenerator<SourceRow> {
  let value: Record<string, unknown>;
  try {
    const text = await readTextWhole(file, encoding);
    value = JSON.parse(stripBom(text)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof WhetstoneError) throw err;
    onProblem({ file, line: 1, message: `not valid JSON (${(err as Error).message})` });
    return;
  }
  const arrays = Object.entries(value).filter((e): e is [string, unknown[]] => Array.isArray(e[1]));
  const records = arrays.find(([, a]) => a.length > 0 && a.every((x) => isObject(x)));
  if (records) {
    // {"data": [{...}, ...]}: the records, numbered as rows.
    for (const [i, row] of records[1].entries()) yield { line: i + 1, unit: 'row', value: row };
    return;
  }
  const lengths = new Set(arrays.map(([, a]) => a.length));
  if (arrays.length === 0 || lengths.size !== 1) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file} is a JSON object, but not one of equal-length columns (${arrays.map(([k, a]) => `${k}: ${a.length}`).join(', ') || 'no arrays'}).`,
      'Write {"text": [...], "label": [...]} with one entry per row in every column, or a list of records.',
    );
  }
  const n = arrays[0]![1].length;
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const [key, column] of arrays) row[key] = column[i];
    yield { line: i + 1, unit: 'row', value: row };
  }
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;
const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
