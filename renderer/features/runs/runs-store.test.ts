// The runs slice's stream reducer: catch-up replaces, live batches append and move the status.
import { describe, expect, it } from 'vitest';
import type { RunEvent, RunStreamMessage } from '../../../main/contract.js';
import { reduceMessage, statusAfter } from './runs-store.js';

const step = (n: number) => ({
  type: 'step',
  step: n,
  loss: 5 - n,
  lr: 1,
  tokensPerSec: 1,
  memory: { liveBytes: n, peakBytes: n },
  elapsedMs: 0,
  etaMs: 0,
});
const events = (
  evs: RunEvent[],
  catchUp = false,
  status: 'running' | 'failed' | 'finished' = 'running',
): RunStreamMessage => ({ kind: 'events', runId: 'r', status, catchUp, events: evs });

describe('reduceMessage', () => {
  it('appends live batches and ends on a cancelled done', () => {
    let view = reduceMessage(undefined, events([{ type: 'start' }, step(1)], true));
    view = reduceMessage(view, events([step(2)]));
    expect(view.series.steps.map((p) => p.step)).toEqual([1, 2]);
    expect(view.status).toBe('running');
    view = reduceMessage(view, events([{ type: 'done', summary: { cancelled: true } }]));
    expect(view.status).toBe('cancelled');
  });

  it('takes main’s status for history, and an error event’s message for a failure', () => {
    const interrupted = reduceMessage(undefined, events([step(1)], true, 'failed'));
    expect(interrupted.status).toBe('failed');
    const view = reduceMessage(
      undefined,
      events([step(1), { type: 'error', code: 'ENGINE_OOM', message: 'out', hint: 'smaller' }]),
    );
    expect(view).toMatchObject({
      status: 'failed',
      error: { code: 'ENGINE_OOM', hint: 'smaller' },
    });
  });

  it('replaces the series on a new catch-up (after a resume)', () => {
    const first = reduceMessage(undefined, events([step(1), step(2)], true));
    const again = reduceMessage(
      first,
      events([step(1), step(2), { type: 'resume' }, step(3)], true),
    );
    expect(again.series.steps.map((p) => p.step)).toEqual([1, 2, 3]);
  });
});

describe('statusAfter', () => {
  it('follows start, resume, done and error', () => {
    expect(statusAfter('cancelled', [{ type: 'resume' }])).toBe('running');
    expect(statusAfter('running', [{ type: 'done', summary: {} }])).toBe('finished');
    expect(statusAfter('running', [{ type: 'error' }])).toBe('failed');
  });
});
