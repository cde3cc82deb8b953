// Streaming JSON Lines reader: one object per line, memory bounded by the longest line, every
// problem reported with its file and line so a user can fix the exact row.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { WhetstoneError } from '../errors.js';

export interface JsonlRow {
  line: number;
  value: unknown;
}

export interface RowProblem {
  file: string;
  line: number;
  field?: string;
  message: string;
}

/** Yield each non-blank line parsed as JSON; malformed lines are passed to `onProblem`. */
export async function* readJsonl(
  file: string,
  onProblem: (problem: RowProblem) => void,
): AsyncGenerator<JsonlRow> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `Cannot read ${file}: ${(err as Error).message}`,
      'Check the path.',
    );
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) };
    } catch (err) {
      onProblem({ file, line, message: `not valid JSON (${(err as Error).message})` });
    }
  }
}

/** Format problems for an error message: the first few, and how many in all. */
export function describeProblems(problems: RowProblem[], shown = 5): string {
  const lines = problems
    .slice(0, shown)
    .map((p) => `${p.file}:${p.line}${p.field ? ` (${p.field})` : ''}: ${p.message}`);
  const more = problems.length > shown ? `\n…and ${problems.length - shown} more` : '';
  return lines.join('\n') + more;
}

/** The `text` field of every row of a plain-text JSONL dataset. */
export async function readTextRows(
  file: string,
): Promise<{ texts: string[]; problems: RowProblem[] }> {
  const problems: RowProblem[] = [];
  const texts: string[] = [];
  for await (const { line, value } of readJsonl(file, (p) => problems.push(p))) {
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
