// Follows a run whose engine outlived the host that started it: reads what the engine appends to
// events.jsonl until a final event, or until the engine is gone without one.
import type { RunEvent } from '../contract.js';
import { EventsTail } from './events-file.js';
import { engineAlive } from './process-alive.js';

export interface FollowOptions {
  eventsPath: string;
  pid: number;
  /** Events already read (the history): the tail starts at byte 0 and skips this many. */
  skip: number;
  intervalMs: number;
  onEvents(events: RunEvent[]): void;
}

/** Resolves with whether the engine wrote its final event (false: it died without one). */
export async function followEngine(options: FollowOptions): Promise<boolean> {
  const tail = new EventsTail(options.eventsPath);
  let skip = options.skip;
  for (;;) {
    // Alive is asked before reading: an engine found dead then has written all it ever will.
    const alive = await engineAlive(options.pid);
    const read = await tail.next();
    const events = read.slice(skip);
    skip = Math.max(0, skip - read.length);
    if (events.length > 0) options.onEvents(events);
    if (events.some((e) => e.type === 'done' || e.type === 'error')) return true;
    if (!alive) return false;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
