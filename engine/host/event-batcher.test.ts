import { describe, expect, it, vi } from 'vitest';
import type { EngineEvent } from '../protocol.js';
import { EventBatcher } from './event-batcher.js';

describe('EventBatcher', () => {
  it('delivers many events in few batches, in order, and flushes final events at once', () => {
    vi.useFakeTimers();
    const batches: EngineEvent[][] = [];
    const batcher = new EventBatcher((events) => batches.push(events), 50);
    for (let i = 0; i < 1000; i++) batcher.push({ type: 'progress', phase: 'step', done: i });
    expect(batches).toHaveLength(0);
    vi.advanceTimersByTime(50);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((e) => (e.type === 'progress' ? e.done : -1))).toEqual(
      Array.from({ length: 1000 }, (_, i) => i),
    );
    batcher.push({ type: 'progress', phase: 'step', done: 1000 });
    batcher.push({ type: 'error', code: 'INTERNAL', message: 'boom' });
    expect(batches).toHaveLength(2); // no waiting for the timer
    expect(batches[1]!.map((e) => e.type)).toEqual(['progress', 'error']);
    vi.useRealTimers();
  });
});
