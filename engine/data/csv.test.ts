import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDelimited, readRecords } from './csv.js';
import type { RowProblem } from './problems.js';

const dir = mkdtempSync(join(tmpdir(), 'whetstone-csv-'));
let n = 0;
function file(text: string, ext = 'csv'): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

async function records(path: string, delimiter = ',') {
  const problems: RowProblem[] = [];
  const out: { line: number; fields: string[] }[] = [];
  for await (const r of readRecords(path, delimiter, (p) => problems.push(p))) out.push(r);
  return { out, problems };
}

describe('CSV reader (RFC 4180)', () => {
  it('reads quoted delimiters, doubled quotes, line breaks in quotes, CRLF and a BOM', async () => {
    const path = file(
      '\ufeffa,b,c\r\n"x, y","say ""hi""","two\r\nlines"\r\nplain,,last\r\n\r\n"",z,"multi\nline\nfield"\n',
    );
    const { out, problems } = await records(path);
    expect(problems).toEqual([]);
    expect(out).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', 'two\r\nlines'] },
      { line: 4, fields: ['plain', '', 'last'] },
      { line: 6, fields: ['', 'z', 'multi\nline\nfield'] },
    ]);
  });

  it('keeps a doubled quote and a CRLF that fall across a read chunk boundary', async () => {
    // The stream reads 64 KiB chunks: place the tricky characters exactly at the boundary.
    const filler = 'x'.repeat(65536 - 'h\n"'.length - 1);
    const path = file(`h\n"${filler}""q"\r\nnext\n`);
    const { out } = await records(path);
    expect(out.map((r) => r.fields[0]!.slice(-3))).toEqual(['h', 'x"q', 'ext']);
    const path2 = file(`h\n${'y'.repeat(65536 - 3)}\r\nz\n`);
    expect((await records(path2)).out.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('reads TSV with the same rules', async () => {
    const path = file('text\tlabel\n"tab\tinside"\t1\nplain\t0\n', 'tsv');
    const rows = [];
    for await (const r of readDelimited(path, '\t', () => undefined)) rows.push(r);
    expect(rows).toEqual([
      { line: 2, value: { text: 'tab\tinside', label: '1' } },
      { line: 3, value: { text: 'plain', label: '0' } },
    ]);
  });

  it('reports a wrong field count, a stray quote and an unclosed quote by line; other rows survive', async () => {
    const path = file('a,b\n1,2\n1,2,3\n"x"y,2\nok,fine\n"never closed,2\nmore\n');
    const problems: RowProblem[] = [];
    const rows = [];
    for await (const r of readDelimited(path, ',', (p) => problems.push(p))) rows.push(r);
    expect(rows.map((r) => r.line)).toEqual([2, 5]);
    expect(problems.map((p) => [p.line, p.message.split(' (')[0]])).toEqual([
      [3, 'has 3 field(s) where the header has 2'],
      [4, 'a quote inside a quoted field is not doubled'],
      [6, 'a quoted field is never closed'],
    ]);
  });
});
