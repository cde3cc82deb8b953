// Reading a run's events.jsonl: all of it, or following it as the engine appends (for a run whose
// engine outlived the host that started it: the UI catches up from the file, then keeps reading).
import { open, readFile } from 'node:fs/promises';
import type { RunEvent } from '../contract.js';

/** Complete lines as events; a line cut short by a kill, or not JSON, is skipped. */
export function parseEventLines(text: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (
        typeof value === 'object' &&
        value !== null &&
        typeof (value as RunEvent).type === 'string'
      )
        out.push(value as RunEvent);
    } catch {
      // The last line of a killed run may be partial.
    }
  }
  return out;
}

export async function readEvents(path: string): Promise<RunEvent[]> {
  return parseEventLines(await readFile(path, 'utf8').catch(() => ''));
}

/** Reads what was appended to a file since the last call, complete lines only. */
export class EventsTail {
  private offset = 0;
  /** Bytes after the last newline: kept as bytes, so a character split across reads survives. */
  private partial = Buffer.alloc(0);

  constructor(private readonly path: string) {}

  async next(): Promise<RunEvent[]> {
    const handle = await open(this.path, 'r').catch(() => undefined);
    if (!handle) return [];
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset = size;
      const bytes = Buffer.concat([this.partial, buffer]);
      const cut = bytes.lastIndexOf(0x0a) + 1;
      this.partial = bytes.subarray(cut);
      return parseEventLines(bytes.subarray(0, cut).toString('utf8'));
    } finally {
      await handle.close();
    }
  }
}
