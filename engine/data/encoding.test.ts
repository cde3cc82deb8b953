// Dataset text encodings: invalid UTF-8 stops the read at its file and line with a hint,
// --encoding latin1 / utf-16le decode those files, a BOM is dropped, and characters cut by a
// chunk boundary still decode.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WhetstoneError } from '../errors.js';
import { firstInvalidUtf8, type TextEncoding } from './encoding.js';
import { readRows } from './read-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'whetstone-encoding-'));
let n = 0;
function file(ext: string, bytes: Buffer): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

async function values(path: string, encoding?: TextEncoding): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const row of readRows(path, () => undefined, encoding)) out.push(row.value);
  return out;
}

async function failure(run: Promise<unknown>): Promise<WhetstoneError> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WhetstoneError);
  return err as WhetstoneError;
}

// "café" and "naïve" as Latin-1 bytes: é and ï are single bytes that UTF-8 does not allow there.
const latin1Csv = Buffer.from('text,label\nfine,1\ncafé,0\nnaïve,1\n', 'latin1');

describe('dataset encodings', () => {
  it('stops on a Latin-1 file read as UTF-8, naming the file and the line, with a hint', async () => {
    for (const ext of ['csv', 'tsv', 'txt', 'jsonl', 'json']) {
      const path = file(ext, latin1Csv);
      const err = await failure(values(path));
      expect(err.code).toBe('DATASET_INVALID');
      expect(err.message).toBe(`${path}: line 3 is not valid UTF-8 (byte 0xE9).`);
      expect(err.hint).toMatch(/--encoding latin1/);
    }
  });

  it('reads it with --encoding latin1, Windows-1252 as browsers do', async () => {
    const path = file('csv', latin1Csv);
    expect(await values(path, 'latin1')).toEqual([
      { text: 'fine', label: '1' },
      { text: 'café', label: '0' },
      { text: 'naïve', label: '1' },
    ]);
    // 0x80, 0x93 and 0x94 are Windows-1252's euro sign and curly quotes.
    const quotes = file('txt', Buffer.from([0x93, 0x68, 0x69, 0x94, 0x20, 0x80]));
    expect(await values(quotes, 'latin1')).toEqual([{ text: '\u201chi\u201d \u20ac' }]);
  });

  it('reads UTF-16LE with --encoding utf-16le, and says so when read as UTF-8', async () => {
    const text = '{"text": "grüße"}\n{"text": "日本"}\n';
    const path = file(
      'jsonl',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
    );
    expect(await values(path, 'utf-16le')).toEqual([{ text: 'grüße' }, { text: '日本' }]);
    const err = await failure(values(path));
    expect(err.message).toMatch(/line 1 is not valid UTF-8 \(byte 0xFF\)/);
    expect(err.hint).toMatch(/UTF-16 byte order mark.*--encoding utf-16le/);
  });

  it('drops a UTF-8 byte order mark', async () => {
    const path = file('csv', Buffer.from('\ufefftext,label\nhé,1\n', 'utf8'));
    expect(await values(path)).toEqual([{ text: 'hé', label: '1' }]);
  });

  it('decodes characters cut by a chunk boundary, and finds a bad byte far into the file', async () => {
    // The file is read in 64 KiB chunks: the two bytes of "é" fall on either side of the first.
    const line = (i: number) => `{"text": "row ${i} ${'x'.repeat(60)}"}\n`;
    let text = '';
    for (let i = 0; text.length < 65535 - 40; i++) text += line(i);
    text += `{"text": "${'y'.repeat(65535 - text.length - 10)}é日"}\n`;
    const rows = text.split('\n').length - 1;
    const good = Buffer.from(text, 'utf8');
    expect(good.subarray(65535, 65537).toString()).toBe('é');
    const read = await values(file('jsonl', good));
    expect(read).toHaveLength(rows);
    expect((read.at(-1) as { text: string }).text.endsWith('é日')).toBe(true);

    const bad = Buffer.concat([good, good, Buffer.from('{"text": "caf\xe9"}\n', 'latin1')]);
    const err = await failure(values(file('jsonl', bad)));
    expect(err.message).toMatch(new RegExp(`line ${2 * rows + 1} is not valid UTF-8`));
  });
});

describe('firstInvalidUtf8', () => {
  const find = (...chunks: number[][]) => firstInvalidUtf8(chunks.map((c) => Uint8Array.from(c)));

  it('accepts well-formed UTF-8, a sequence split across chunks included', async () => {
    const text = Buffer.from('a\né日😀\u{10ffff}', 'utf8');
    expect(await find([...text])).toBeUndefined();
    expect(await find([...text.subarray(0, 4)], [...text.subarray(4)])).toBeUndefined();
  });

  it('finds where the first ill-formed sequence starts, with its line', async () => {
    const at = async (bytes: number[]) => {
      const found = await find([0x61, 0x0a, 0x62, ...bytes]);
      return found && { offset: found.offset, line: found.line, byte: found.byte };
    };
    const where = (byte: number) => ({ offset: 3, line: 2, byte });
    expect(await at([0xc0, 0x80])).toEqual(where(0xc0)); // overlong NUL
    expect(await at([0xe0, 0x80, 0x80])).toEqual(where(0xe0)); // overlong 3-byte form
    expect(await at([0xed, 0xa0, 0x80])).toEqual(where(0xed)); // a surrogate
    expect(await at([0xf4, 0x90, 0x80, 0x80])).toEqual(where(0xf4)); // above U+10FFFF
    expect(await at([0x80])).toEqual(where(0x80)); // a lone continuation byte
    expect(await at([0xc3, 0x0a])).toEqual(where(0xc3)); // cut short by a newline
    expect(await at([0xe6, 0x97])).toEqual(where(0xe6)); // cut short by the end of the file
  });
});
