// events.jsonl is read whole or followed; partial lines wait for their newline.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsTail, parseEventLines } from './events-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whetstone-events-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('events file', () => {
  it('skips partial, non-JSON and untyped lines', () => {
    const text = '{"type":"start"}\nnot json\n{"step":1}\n{"type":"step","step":1}\n{"type":"st';
    expect(parseEventLines(text)).toEqual([{ type: 'start' }, { type: 'step', step: 1 }]);
  });

  it('follows appends, holding a cut line (even inside a character) until it completes', async () => {
    const path = join(dir, 'events.jsonl');
    await writeFile(path, '{"type":"start"}\n');
    const tail = new EventsTail(path);
    expect(await tail.next()).toEqual([{ type: 'start' }]);
    expect(await tail.next()).toEqual([]);
    const line = Buffer.from('{"type":"log","message":"é✓"}\n');
    await appendFile(path, line.subarray(0, line.length - 4)); // cuts ✓ (3 bytes) apart
    expect(await tail.next()).toEqual([]);
    await appendFile(path, line.subarray(line.length - 4));
    expect(await tail.next()).toEqual([{ type: 'log', message: 'é✓' }]);
    expect(await new EventsTail(join(dir, 'missing.jsonl')).next()).toEqual([]);
  });
});
