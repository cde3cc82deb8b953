// The runs slice's stream reducer: catch-up replaces, live batches append and move the status.
import { describe, expect, it } from 'vitest';
import type { RunEvent, RunStreamMessage } from '../../../main/contract.js';
import { statusAfter } from '../../../common/run-status.js';
import { reduceMessage, settles } from './runs-store.js';

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
  it('keeps a cluster run’s latest Slurm state across batches that do not carry one', () => {
    const queued = { name: 'gpu', jobId: '12', state: 'PENDING', reason: 'Priority' };
    const withJob = (cluster: typeof queued, catchUp = false): RunStreamMessage => ({
      kind: 'events',
      runId: 'r',
      status: 'starting',
      catchUp,
      events: [],
      cluster,
    });
    let view = reduceMessage(undefined, withJob(queued, true));
    expect(view.cluster).toEqual(queued);
    view = reduceMessage(view, events([step(1)]));
    expect(view.cluster).toEqual(queued);
    view = reduceMessage(view, withJob({ ...queued, state: 'RUNNING' }));
    expect(view.cluster?.state).toBe('RUNNING');
  });

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

  it('follows the engine’s pause and continue', () => {
    expect(statusAfter('running', [step(3), { type: 'pause', step: 3 }])).toBe('paused');
    expect(statusAfter('paused', [{ type: 'continue', step: 3 }, step(4)])).toBe('running');
    // Cancelled while paused: the final event wins.
    expect(statusAfter('paused', [{ type: 'done', summary: { cancelled: true } }])).toBe(
      'cancelled',
    );
  });
});

describe('a pending pause or continue', () => {
  it('settles when the engine reports the state asked for, or the run ends', () => {
    expect(settles('pause', 'running')).toBe(false);
    expect(settles('pause', 'paused')).toBe(true);
    expect(settles('continue', 'paused')).toBe(false);
    expect(settles('continue', 'running')).toBe(true);
    expect(settles('pause', 'cancelled')).toBe(true);
    expect(settles(undefined, 'paused')).toBe(false);
  });

  it('a paused history from main (a reattached window) shows paused', () => {
    const view = reduceMessage(undefined, {
      kind: 'events',
      runId: 'r',
      status: 'paused',
      catchUp: true,
      events: [{ type: 'start' }, step(1), { type: 'pause', step: 1 }],
    });
    expect(view.status).toBe('paused');
  });
});
