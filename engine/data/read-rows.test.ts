// A dataset with no records says so, naming the file and what such a file should hold, rather
// than that its format cannot be told from its columns.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WhetstoneError } from '../errors.js';
import { detectFile } from './examples.js';

const dir = mkdtempSync(join(tmpdir(), 'whetstone-no-records-'));
let n = 0;
function file(ext: string, text: string): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

async function refusal(path: string): Promise<WhetstoneError> {
  const err = await detectFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WhetstoneError);
  expect((err as WhetstoneError).code).toBe('DATASET_INVALID');
  return err as WhetstoneError;
}

describe('a dataset with no records', () => {
  it('an empty file: named, called empty, with what its type holds', async () => {
    for (const [ext, holds] of [
      ['jsonl', /one JSON object per line/],
      ['json', /a list of records/],
      ['csv', /a header line naming the columns/],
      ['txt', /paragraphs separated by blank lines/],
    ] as const) {
      const path = file(ext, '');
      const err = await refusal(path);
      expect(err.message).toBe(`${path} is empty: there is nothing to train or evaluate on.`);
      expect(err.hint).toMatch(holds);
      expect(err.hint).toMatch(/Add rows, or pick another file\.$/);
    }
  });

  it('only blank lines and white space (a byte order mark too)', async () => {
    for (const [ext, text] of [
      ['jsonl', '\n\n   \n'],
      ['txt', '\ufeff\r\n\t\r\n'],
      ['csv', '\n\n'],
      ['json', '  \n '],
    ] as const) {
      const path = file(ext, text);
      expect((await refusal(path)).message).toBe(
        `${path} holds only blank lines: there is nothing to train or evaluate on.`,
      );
    }
  });

  it('a frame with nothing in it: a CSV header, an empty JSON list', async () => {
    for (const [ext, text] of [
      ['csv', 'text,label\n'],
      ['json', '[]\n'],
    ] as const) {
      const path = file(ext, text);
      expect((await refusal(path)).message).toMatch(new RegExp(`^${path} has no records:`));
    }
  });

  it('rows that cannot be read are not called empty', async () => {
    const err = await refusal(file('jsonl', 'not json\n{broken\n'));
    expect(err.message).not.toMatch(/empty|blank|no records/);
  });
});
