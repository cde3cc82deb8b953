// A run's status and progress as its events imply them.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../contract.js';
import { runStatus } from '../../common/run-status.js';
import { summarize } from './run-summary.js';

const start: RunEvent = { type: 'start', step: 0, maxSteps: 10 };
const step = (n: number): RunEvent => ({
  type: 'step',
  step: n,
  loss: 5 - n / 10,
  memory: { liveBytes: 10, peakBytes: [0, 300, 200][n] ?? 0 },
});

describe('run summary', () => {
  it('reads status from the last start, done or error', () => {
    expect(runStatus([], true)).toBe('starting');
    expect(runStatus([start, step(1)], true)).toBe('running');
    expect(runStatus([start, step(1)], false)).toBe('failed');
    expect(runStatus([start, { type: 'done', summary: { cancelled: false } }], false)).toBe(
      'finished',
    );
    expect(runStatus([start, { type: 'done', summary: { cancelled: true } }], false)).toBe(
      'cancelled',
    );
    const crashed: RunEvent = { type: 'error', code: 'ENGINE_CRASHED', message: 'gone' };
    expect(runStatus([start, crashed], false)).toBe('failed');
    // A resume of a failed run, before its engine reports anything.
    expect(runStatus([start, crashed], true)).toBe('starting');
    expect(runStatus([start, crashed, { type: 'resume', step: 4, maxSteps: 10 }], true)).toBe(
      'running',
    );
  });

  it('a pause without a continue is paused while live; continue and steps make it running', () => {
    const pause: RunEvent = { type: 'pause', step: 1, elapsedMs: 10 };
    expect(runStatus([start, step(1), pause], true)).toBe('paused');
    expect(runStatus([start, step(1), pause, { type: 'continue', step: 1 }], true)).toBe('running');
    // A paused run whose engine is gone is an interrupted one.
    expect(runStatus([start, step(1), pause], false)).toBe('failed');
    const done: RunEvent = { type: 'done', summary: { cancelled: true } };
    expect(runStatus([start, step(1), pause, done], false)).toBe('cancelled');
  });

  it('summarizes progress, the peak, the spec and why a run failed', () => {
    const events: RunEvent[] = [
      start,
      step(1),
      step(2),
      { type: 'error', code: 'ENGINE_OOM', message: 'out of memory', hint: 'smaller batch' },
    ];
    const summary = summarize({
      id: 'r',
      dir: '/runs/r',
      spec: { method: 'lomo', model: '/m', data: '/d.jsonl' },
      events,
      live: false,
      checkpointStep: 2,
      createdAt: 't',
    });
    expect(summary).toEqual({
      id: 'r',
      dir: '/runs/r',
      status: 'failed',
      method: 'lomo',
      model: '/m',
      data: '/d.jsonl',
      step: 2,
      maxSteps: 10,
      lastLoss: 4.8,
      peakBytes: 300,
      checkpointStep: 2,
      createdAt: 't',
      error: { code: 'ENGINE_OOM', message: 'out of memory', hint: 'smaller batch' },
    });
  });
});
