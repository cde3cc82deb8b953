import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson } from './json.js';
import type { RowProblem } from './problems.js';

const dir = mkdtempSync(join(tmpdir(), 'whetstone-json-'));
let n = 0;
async function read(text: string) {
  const path = join(dir, `f${n++}.json`);
  writeFileSync(path, text);
  const problems: RowProblem[] = [];
  const rows = [];
  for await (const r of readJson(path, (p) => problems.push(p))) rows.push(r);
  return { rows, problems };
}

describe('JSON reader', () => {
  it('streams a top-level array with the line each record starts on', async () => {
    const { rows, problems } = await read(
      '[\n  {"text": "a ] tricky, \\"one\\" {"},\n  {"text":\n    "b"},\n  {"text": "c", "tags": [1, [2]]}\n]\n',
    );
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      { line: 2, value: { text: 'a ] tricky, "one" {' } },
      { line: 3, value: { text: 'b' } },
      { line: 5, value: { text: 'c', tags: [1, [2]] } },
    ]);
  });

  it('reports a malformed element by line and keeps the others', async () => {
    const { rows, problems } = await read('[{"text": "a"},\n{"text": b},\n{"text": "c"}]');
    expect(rows.map((r) => r.line)).toEqual([1, 3]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 2 });
    expect(problems[0]!.message).toMatch(/^not valid JSON/);
  });

  it('stops at the end of the array and reports what follows it', async () => {
    const { rows, problems } = await read('[{"text": "a"}]\n\n[{"text": "b"}]\n');
    expect(rows).toEqual([{ line: 1, value: { text: 'a' } }]);
    expect(problems).toEqual([
      expect.objectContaining({
        line: 3,
        message: 'text after the end of the JSON array (ignored)',
      }),
    ]);
  });

  it('reads an object of columns, and an object holding a list of records, by row', async () => {
    const columns = await read('{"text": ["a", "b"], "label": [0, 1]}');
    expect(columns.rows).toEqual([
      { line: 1, unit: 'row', value: { text: 'a', label: 0 } },
      { line: 2, unit: 'row', value: { text: 'b', label: 1 } },
    ]);
    const wrapped = await read('{"version": 2, "data": [{"text": "x"}]}');
    expect(wrapped.rows).toEqual([{ line: 1, unit: 'row', value: { text: 'x' } }]);
    await expect(read('{"text": ["a"], "label": [0, 1]}')).rejects.toThrow(/equal-length/);
  });
});
