// Every file type and format in test/data/: detection picks the right format, valid rows
// survive, and each problem names its file, line and field.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectDataset } from '../engine/data/inspect.js';
import { readParquet } from '../engine/data/parquet.js';
import type { DataChoices } from '../engine/data/detect.js';

const data = (name: string) => join(import.meta.dirname, 'data', name);
const inspect = (name: string, choices: DataChoices = {}) =>
  inspectDataset(data(name), { rows: 2, seqLen: 256, ...choices });

describe('format detection on every fixture', () => {
  it.each([
    ['text.jsonl', 'jsonl', 'text', undefined, 3],
    ['text.txt', 'txt', 'text', undefined, 3],
    ['alpaca.json', 'json', 'alpaca', undefined, 3],
    ['chat-openai.jsonl', 'jsonl', 'chat', undefined, 2],
    ['chat-sharegpt.json', 'json', 'chat', undefined, 2],
    ['completion.csv', 'csv', 'completion', undefined, 2],
    ['sst2.tsv', 'tsv', 'classification', 'sst2', 3],
    ['columns.json', 'json', 'classification', 'sst2', 3],
    ['rte.jsonl', 'jsonl', 'classification', 'rte', 2],
    ['cb.jsonl', 'jsonl', 'classification', 'cb', 3],
    ['boolq.jsonl', 'jsonl', 'classification', 'boolq', 2],
    ['copa.jsonl', 'jsonl', 'classification', 'copa', 2],
    ['winogrande.jsonl', 'jsonl', 'classification', 'winogrande', 2],
    ['multirc.jsonl', 'jsonl', 'classification', 'multirc', 2],
    ['sst2-snappy.parquet', 'parquet', 'classification', 'sst2', 10],
    ['sst2-gzip.parquet', 'parquet', 'classification', 'sst2', 10],
    ['sst2-zstd.parquet', 'parquet', 'classification', 'sst2', 10],
    ['chat-zstd.parquet', 'parquet', 'chat', undefined, 3],
  ])('%s is %s data in %s format', async (name, fileType, format, task, rows) => {
    const r = await inspect(name);
    expect(r.fileType).toBe(fileType);
    expect(r.format).toBe(format);
    expect(r.task).toBe(task);
    expect(r.confidence).toBeGreaterThanOrEqual(0.8);
    expect(r.validRows).toBe(rows);
    expect(r.problems.total).toBe(0);
  });

  it('reads the same rows from snappy, gzip and zstd parquet files, across row groups', async () => {
    const read = async (codec: string) => {
      const rows = [];
      for await (const r of readParquet(data(`sst2-${codec}.parquet`))) rows.push(r);
      return rows;
    };
    const snappy = await read('snappy');
    expect(snappy).toHaveLength(10);
    expect(snappy[9]).toEqual({
      line: 10,
      unit: 'row',
      value: { sentence: 'the jokes land with a dull thud', label: 0 },
    });
    expect(await read('gzip')).toEqual(snappy);
    expect(await read('zstd')).toEqual(snappy);
  });

  it('follows a column mapping and a named format over what the columns suggest', async () => {
    const mapped = await inspect('completion.csv', {
      columns: { text: 'completion' },
      format: 'text',
    });
    expect(mapped.format).toBe('text');
    expect(mapped.preview[0]!.segments[0]!.text).toBe(' Honey.');
    const task = await inspect('columns.json', {
      template: '{text} Verdict:',
      labelWords: 'no,yes',
    });
    expect(task.task).toBe('custom');
    expect(task.preview[0]!.segments.map((s) => s.text).join('')).toBe(
      'loved every minute Verdict: yes',
    );
    const plain = await inspect('sst2.tsv', { noTemplate: true });
    expect(plain.template).toBe(false);
    expect(plain.preview[0]!.segments.map((s) => s.text)).toEqual([
      'a gentle , moving film\n',
      '1',
    ]);
  });

  it('numbers .txt paragraphs by their first line, and --limit stops reading early', async () => {
    const txt = await inspect('text.txt', { rows: 3 } as DataChoices);
    expect(txt.preview.map((p) => p.line)).toEqual([1, 4, 7]);
    expect(txt.preview[0]!.segments[0]!.text).toBe(
      'The river rose after three days of rain,\nand the ferry waited at the far bank.',
    );
    const limited = await inspectDataset(data('sst2-gzip.parquet'), {
      rows: 1,
      seqLen: 64,
      limit: 4,
    });
    expect(limited).toMatchObject({ rows: 4, validRows: 4, partial: true });
  });

  it('renders ShareGPT turns as chat roles', async () => {
    const r = await inspect('chat-sharegpt.json');
    const text = r.preview[1]!.segments.map((s) => (s.train ? `[${s.text}]` : s.text)).join('');
    expect(text).toBe('System: Answer in one word.\nUser: Opposite of hot?\nAssistant:[ Cold.]\n');
  });
});

describe('malformed files: each problem names file, line and field; valid rows survive', () => {
  const totalRows: Record<string, number> = {
    'bad-rows.jsonl': 5,
    'bad-chat.jsonl': 5,
    'bad-alpaca.json': 4,
    'bad-cells.csv': 5,
    'bad-unclosed.csv': 3,
  };
  it.each([
    [
      'bad-rows.jsonl',
      'text',
      2,
      [
        [2, undefined, /^not valid JSON/],
        [3, 'text', /^empty$/],
        [4, 'text', /^missing$/],
      ],
    ],
    [
      'bad-chat.jsonl',
      'chat',
      2,
      [
        [2, 'messages[1].role', /^unknown role "wizard"/],
        [3, 'messages', /^no assistant turn/],
        [4, 'messages[0].content', /^empty$/],
      ],
    ],
    [
      'bad-alpaca.json',
      'alpaca',
      2,
      [
        [3, 'instruction', /^empty$/],
        [4, 'output', /^missing$/],
      ],
    ],
    [
      'bad-cells.csv',
      'classification',
      2,
      [
        [3, undefined, /^has 3 field\(s\) where the header has 2/],
        [4, 'label', /^label "maybe" is not in the label set/],
        [5, 'sentence', /^empty$/],
      ],
    ],
    ['bad-unclosed.csv', 'classification', 2, [[4, undefined, /^a quoted field is never closed/]]],
  ] as const)('%s', async (name, format, valid, expected) => {
    const r = await inspect(name);
    expect(r.format).toBe(format);
    expect(r.validRows).toBe(valid);
    // Every record is counted, the unreadable ones (bad JSON, a broken CSV row) included.
    expect(r.rows).toBe(totalRows[name]);
    expect(r.problems.total).toBe(expected.length);
    r.problems.first.forEach((p, i) => {
      const [line, field, message] = expected[i]!;
      expect(p.file).toBe(data(name));
      expect(p.line).toBe(line);
      expect(p.field).toBe(field);
      expect(p.message).toMatch(message);
    });
    expect(r.problems.groups.reduce((n, g) => n + g.count, 0)).toBe(expected.length);
  });

  it('names parquet and column-object positions as rows, not lines', async () => {
    const r = await inspect('sst2-gzip.parquet', { template: 'cb' });
    // CB reads premise/hypothesis: every row misses them, each reported at its row.
    expect(r.problems.first[0]).toMatchObject({ line: 1, unit: 'row', field: 'premise' });
    expect(r.validRows).toBe(0);
  });
});

describe('the sample datasets in assets/datasets', () => {
  const asset = (name: string) => join(import.meta.dirname, '..', 'assets', 'datasets', name);
  it.each([
    ['sentiment.jsonl', 'classification', 'sst2', 200],
    ['instructions.jsonl', 'alpaca', undefined, 60],
    ['chat.jsonl', 'chat', undefined, 40],
    ['cause-effect.jsonl', 'classification', 'copa', 240],
  ])('%s reads cleanly as %s', async (name, format, task, atLeast) => {
    const r = await inspectDataset(asset(name), { rows: 1, seqLen: 256 });
    expect(r).toMatchObject({ format, problems: { total: 0 } });
    expect(r.task).toBe(task);
    expect(r.validRows).toBeGreaterThanOrEqual(atLeast);
  });
});
