// Streaming JSON Lines reader: one object per line, memory bounded by the longest line, every
// problem reported with its file and line so a user can fix the exact row.
import { createInterface } from 'node:readline';
import type { TextEncoding } from './encoding.js';
import { describeProblems, type RowProblem } from './problems.js';
import { openText, stripBom, type OnProblem, type SourceRow } from './source.js';

export { describeProblems, type RowProblem };
export type JsonlRow = SourceRow;

/** Yield each non-blank line parsed as JSON; malformed lines are passed to `onProblem`. */
export async function* readJsonl(
  file: string,
  onProblem: OnProblem,
  encoding?: TextEncoding,
): AsyncGenerator<SourceRow> {
  const stream = await openText(file, encoding);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      const text = line === 1 ? stripBom(raw) : raw;
      if (text.trim() === '') continue;
      try {
        yield { line, value: JSON.parse(text) };
      } catch (err) {
        onProblem({ file, line, message: `not valid JSON (${(err as Error).message})` });
      }
    }
  } finally {
    // A consumer that stops early (a preview) must not leave the file open.
    lines.close();
    stream.destroy();
  }
}

/** The `text` field of every row of a plain-text JSONL dataset. */
export async function readTextRows(
  file: string,
  encoding?: TextEncoding,
): Promise<{ texts: string[]; problems: RowProblem[] }> {
  const problems: RowProblem[] = [];
  const texts: string[] = [];
  for await (const { line, value } of readJsonl(file, (p) => problems.push(p), encoding)) {
    const text = (value as { text?: unknown } | null)?.text;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ file, line, message: 'expected a JSON object like {"text": "..."}' });
    } else if (typeof text !== 'string') {
      problems.push({
        file,
        line,
        field: 'text',
        message: text === undefined ? 'missing' : 'must be a string',
      });
    } else if (text.trim() === '') {
      problems.push({ file, line, field: 'text', message: 'empty' });
    } else {
      texts.push(text);
    }
  }
  return { texts, problems };
}
