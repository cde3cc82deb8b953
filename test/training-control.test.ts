// Training control in the engine, in process: pause holds the loop at a step boundary with its
// memory kept and leaves the paused time out of elapsed and ETA; a cancelled run's training time
// carries into its resume; every step reports the backend's device memory, named for what it is.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { runJob } from '../engine/jobs/run-job.js';
import type { EngineEvent } from '../engine/protocol.js';
import { PauseGate } from '../engine/train/pause-gate.js';
import { fixturePath, writeSentencesJsonl } from './fixtures.js';
import { webgpuAvailability } from './webgpu.js';

type Step = Extract<EngineEvent, { type: 'step' }>;

let work: string;
let data: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-control-'));
  data = await writeSentencesJsonl(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const train = (out: string, steps: number, backend = 'cpu') => ({
  kind: 'train',
  model: fixturePath('llama'),
  data,
  method: 'adalomo',
  steps,
  batch: 2,
  seq: 16,
  checkpointEvery: 100,
  out,
  backend,
});

describe('pause and continue', () => {
  it('waits at a step boundary with its memory kept; elapsed and ETA leave the pause out', async () => {
    const gate = new PauseGate();
    const events: { event: EngineEvent; at: number }[] = [];
    let liveAtPause = 0;
    let stepsWhilePaused = 0;
    const PAUSE_MS = 800;
    const ok = await runJob(
      train(join(work, 'paused'), 6),
      (event) => {
        events.push({ event, at: performance.now() });
        if (event.type === 'step' && event.step === 3) gate.pause();
        if (event.type === 'step' && gate.isPaused && events.some((e) => e.event.type === 'pause'))
          stepsWhilePaused++;
        if (event.type === 'pause') {
          liveAtPause = memory.liveBytes;
          setTimeout(() => {
            // Nothing was freed: weights and optimizer state are where the loop left them.
            expect(memory.liveBytes).toBe(liveAtPause);
            gate.continue();
          }, PAUSE_MS);
        }
      },
      undefined,
      gate,
    );
    expect(ok).toBe(true);
    expect(stepsWhilePaused).toBe(0);
    const pause = events.find((e) => e.event.type === 'pause')!;
    const cont = events.find((e) => e.event.type === 'continue')!;
    expect(pause.event).toMatchObject({ type: 'pause', step: 3 });
    expect(cont.event).toMatchObject({ type: 'continue', step: 3 });
    const pausedMs = (cont.event as { pausedMs: number }).pausedMs;
    expect(pausedMs).toBeGreaterThanOrEqual(PAUSE_MS - 5);
    // Steps in order, none lost.
    const steps = events.filter((e) => e.event.type === 'step');
    expect(steps.map((e) => (e.event as Step).step)).toEqual([1, 2, 3, 4, 5, 6]);
    // Elapsed grew by the wall time between steps 3 and 4 less the pause (rounding aside).
    const s3 = steps[2]!;
    const s4 = steps[3]!;
    const wall = s4.at - s3.at;
    const grew = (s4.event as Step).elapsedMs - (s3.event as Step).elapsedMs;
    expect(Math.abs(grew - (wall - pausedMs))).toBeLessThan(5);
    // ETA counts active time only: step 4's ETA is its active time per step times those left.
    const e4 = s4.event as Step;
    expect(e4.etaMs).toBeCloseTo((e4.elapsedMs / 4) * 2, -1);
  });

  it('cancel while paused stops with a checkpoint', async () => {
    const gate = new PauseGate();
    const cancel = new AbortController();
    const events: EngineEvent[] = [];
    const ok = await runJob(
      train(join(work, 'paused-cancel'), 6),
      (event) => {
        events.push(event);
        if (event.type === 'step' && event.step === 2) gate.pause();
        if (event.type === 'pause') setTimeout(() => cancel.abort(), 50);
      },
      cancel.signal,
      gate,
    );
    expect(ok).toBe(true);
    expect(events.filter((e) => e.type === 'step')).toHaveLength(2);
    expect(events.some((e) => e.type === 'continue')).toBe(false);
    expect(events.find((e) => e.type === 'checkpoint')).toMatchObject({ step: 2 });
    expect(events.at(-1)).toMatchObject({ type: 'done', summary: { cancelled: true, steps: 2 } });
  });
});

describe('training time across cancel and resume', () => {
  it('the resumed run counts on from the time stored with the checkpoint', async () => {
    const out = join(work, 'resumed');
    const cancel = new AbortController();
    const first: EngineEvent[] = [];
    await runJob(
      train(out, 8),
      (event) => {
        first.push(event);
        if (event.type === 'step' && event.step === 4) cancel.abort();
      },
      cancel.signal,
    );
    const before = first.filter((e): e is Step => e.type === 'step').at(-1)!;
    const done = first.at(-1) as unknown as { summary: { elapsedMs: number } };
    expect(before.step).toBe(4);
    expect(done.summary.elapsedMs).toBeGreaterThanOrEqual(before.elapsedMs);

    const second: EngineEvent[] = [];
    expect(await runJob({ kind: 'resume', run: out, backend: 'cpu' }, (e) => second.push(e))).toBe(
      true,
    );
    const steps = second.filter((e): e is Step => e.type === 'step');
    expect(steps[0]!.step).toBe(5);
    // Carried: at least the first session's time, plus this step's own.
    expect(steps[0]!.elapsedMs).toBeGreaterThan(done.summary.elapsedMs);
    for (let i = 1; i < steps.length; i++) {
      expect(steps[i]!.elapsedMs).toBeGreaterThanOrEqual(steps[i - 1]!.elapsedMs);
    }
  });
});

describe.each(['cpu', 'wasm', 'webgpu'] as const)(
  'device memory in step events on %s',
  (backend) => {
    it('names its source and is at least the tensors it holds', async () => {
      if (backend === 'webgpu') {
        const { available } = await webgpuAvailability();
        if (!available) return;
      }
      const steps: Step[] = [];
      const ok = await runJob(train(join(work, `device-${backend}`), 2, backend), (e) => {
        if (e.type === 'step') steps.push(e);
      });
      expect(ok).toBe(true);
      const source = { cpu: 'process-rss', wasm: 'wasm-heap', webgpu: 'webgpu-allocated' }[backend];
      for (const s of steps) {
        expect(s.memory.deviceSource).toBe(source);
        // Every byte of tensor data alive after the step sits in that memory.
        expect(s.memory.deviceBytes).toBeGreaterThanOrEqual(s.memory.liveBytes);
      }
    });
  },
);
