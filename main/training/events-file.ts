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

/** Bytes of a file from `offset` on (empty when there are none, or no file yet). */
export type ReadFrom = (offset: number) => Promise<Buffer>;

async function readLocal(path: string, offset: number): Promise<Buffer> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return Buffer.alloc(0);
  try {
    const { size } = await handle.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * Reads what was appended to a file since the last call, complete lines only: a local path, or
 * any reader of bytes from an offset (a file on a cluster, read over ssh).
 */
export class EventsTail {
  private offset = 0;
  /** Bytes after the last newline: kept as bytes, so a character split across reads survives. */
  private partial = Buffer.alloc(0);
  private readonly read: ReadFrom;

  constructor(source: string | ReadFrom) {
    this.read = typeof source === 'string' ? (offset) => readLocal(source, offset) : source;
  }

  async next(): Promise<RunEvent[]> {
    const buffer = await this.read(this.offset);
    if (buffer.length === 0) return [];
    this.offset += buffer.length;
    const bytes = Buffer.concat([this.partial, buffer]);
    const cut = bytes.lastIndexOf(0x0a) + 1;
    this.partial = bytes.subarray(cut);
    return parseEventLines(bytes.subarray(0, cut).toString('utf8'));
  }
}
