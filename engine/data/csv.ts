// Streaming CSV / TSV reader (RFC 4180): quoted fields may hold delimiters, doubled quotes and
// line breaks; the first record is the header; a byte order mark is ignored. Each record is
// yielded as {column: text} with the line where it starts.
import type { TextEncoding } from './encoding.js';
import { openText, stripBom, type OnProblem, type SourceRow } from './source.js';

const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Split a delimited text stream into records of fields (each with its starting line). */
export async function* readRecords(
  file: string,
  delimiter: string,
  onProblem: OnProblem,
  encoding?: TextEncoding,
): AsyncGenerator<{ line: number; fields: string[] }> {
  const delim = delimiter.charCodeAt(0);
  const stream = await openText(file, encoding);
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let closed = false; // just after a quoted field's closing quote
  let atFieldStart = true;
  let line = 1;
  let recordLine = 1;
  let pendingCr = false;
  let first = true;
  let broken = false; // the current record has a quoting problem: reported, not yielded
  const endField = () => {
    fields.push(field);
    field = '';
    atFieldStart = true;
    closed = false;
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = first ? stripBom(chunk) : chunk;
      first = false;
      // Broken records are reported in their place, so problems come in line order.
      const records: { line: number; fields: string[]; problem?: string }[] = [];
      let runStart = 0; // plain characters are copied in runs, not one by one
      const flush = (end: number) => {
        if (end > runStart) field += text.slice(runStart, end);
      };
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (pendingCr) {
          pendingCr = false;
          if (c === LF) {
            runStart = i + 1;
            continue;
          }
        }
        if (quoted) {
          if (c === QUOTE) {
            flush(i);
            if (text.charCodeAt(i + 1) === QUOTE) {
              field += '"';
              i++;
            } else {
              // At a chunk's end, whether the quote is doubled is only known from the next chunk.
              quoted = false;
              closed = true;
            }
            runStart = i + 1;
          } else if (c === LF) {
            line++;
          }
          continue;
        }
        if (c === delim || c === LF || c === CR) {
          flush(i);
          runStart = i + 1;
          if (c === delim) {
            endField();
            continue;
          }
          if (c === CR) pendingCr = true;
          const blank = fields.length === 0 && field === '' && atFieldStart;
          if (!blank) {
            endField();
            records.push({
              line: recordLine,
              fields,
              ...(broken && {
                problem: `a quote inside a quoted field is not doubled (the record runs to line ${line})`,
              }),
            });
            fields = [];
            broken = false;
          }
          line++;
          recordLine = line;
          continue;
        }
        if (c === QUOTE && closed) {
          // "a""b" split across chunks: the quote that closed was the first of a doubled pair.
          field += '"';
          quoted = true;
          closed = false;
          runStart = i + 1;
          continue;
        }
        if (c === QUOTE && atFieldStart) {
          quoted = true;
          atFieldStart = false;
          runStart = i + 1;
          continue;
        }
        if (closed) {
          broken = true;
          closed = false;
        }
        atFieldStart = false;
      }
      flush(text.length);
      for (const { line, fields, problem } of records) {
        if (problem === undefined) yield { line, fields };
        else onProblem({ file, line, message: problem });
      }
    }
    if (quoted) {
      onProblem({ file, line: recordLine, message: 'a quoted field is never closed' });
    }
    if (!quoted && !broken && (fields.length > 0 || field !== '' || !atFieldStart)) {
      endField();
      yield { line: recordLine, fields };
    }
  } finally {
    stream.destroy();
  }
}

/** Records as objects keyed by the header's column names. */
export async function* readDelimited(
  file: string,
  delimiter: string,
  onProblem: OnProblem,
  encoding?: TextEncoding,
): AsyncGenerator<SourceRow> {
  let header: string[] | undefined;
  for await (const { line, fields } of readRecords(file, delimiter, onProblem, encoding)) {
    if (header === undefined) {
      header = fields.map((name) => name.trim());
      continue;
    }
    if (fields.length !== header.length) {
      onProblem({
        file,
        line,
        message: `has ${fields.length} field(s) where the header has ${header.length} (an unquoted ${delimiter === '\t' ? 'tab' : 'delimiter'} or a missing quote?)`,
      });
      continue;
    }
    const value: Record<string, string> = {};
    header.forEach((name, i) => (value[name] = fields[i]!));
    yield { line, value };
  }
}

/** The header of a delimited file (its column names), or [] for an empty file. */
export async function readHeader(file: string, delimiter: string): Promise<string[]> {
  for await (const { fields } of readRecords(file, delimiter, () => undefined)) {
    return fields.map((name) => name.trim());
  }
  return [];
}
