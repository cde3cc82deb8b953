// Plain .txt datasets: paragraphs separated by blank lines, each one a {"text": ...} record
// (a line-wrapped paragraph stays one example), streamed with the line where it starts.
import { createInterface } from 'node:readline';
import type { TextEncoding } from './encoding.js';
import { openText, stripBom, type SourceRow } from './source.js';

export async function* readTextFile(
  file: string,
  encoding?: TextEncoding,
): AsyncGenerator<SourceRow> {
  const stream = await openText(file, encoding);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let paragraph: string[] = [];
  let start = 0;
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      const text = line === 1 ? stripBom(raw) : raw;
      if (text.trim() === '') {
        if (paragraph.length > 0) yield { line: start, value: { text: paragraph.join('\n') } };
        paragraph = [];
        continue;
      }
      if (paragraph.length === 0) start = line;
      paragraph.push(text);
    }
    if (paragraph.length > 0) yield { line: start, value: { text: paragraph.join('\n') } };
  } finally {
    lines.close();
    stream.destroy();
  }
}
