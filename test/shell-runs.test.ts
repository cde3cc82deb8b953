// Training runs through web mode's services, in real engine processes: the events arrive in
// order and in batches; a second client that connects mid-run catches up on the whole history
// and then streams live; the run folder holds what the engine's layout promises.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, RunSummary } from '../main/contract.js';
import { BridgeClient, streamEvents, streamStatus, until, type Received } from './bridge-client.js';
import { fixturePath } from './fixtures.js';
import { startShell, type Shell } from './shell-setup.js';

const STEPS = 150;
let shell: Shell;
let run: RunSummary;
let first: Received[];
let second: Received[];
let joinedAtStep = 0;

const steps = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'step').map((e) => e.step as number);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => i + from);

beforeAll(async () => {
  shell = await startShell();
  const a = await BridgeClient.connect(shell.server.port, shell.server.token);
  await a.call('paths:add', { kind: 'model', path: fixturePath('llama') });
  await a.call('paths:add', { kind: 'dataset', path: shell.dataset });
  run = await a.call<RunSummary>('runs:start', {
    model: fixturePath('llama'),
    data: shell.dataset,
    method: 'lomo',
    steps: STEPS,
    batch: 2,
    seq: 16,
    checkpointEvery: 50,
    backend: 'wasm',
  });
  first = a.watch(run.id);
  // The second window opens once the run is well under way.
  await until(() => steps(streamEvents(first)).length >= 20);
  joinedAtStep = steps(streamEvents(first)).at(-1)!;
  const b = await BridgeClient.connect(shell.server.port, shell.server.token);
  second = b.watch(run.id);
  await until(() => streamStatus(first) === 'finished' && streamStatus(second) === 'finished');
}, 240_000);
afterAll(() => shell.stop());

describe('a training run served over the bridge', () => {
  it('runs in an engine process; events arrive in order, batched at most ~20 a second', () => {
    expect(['starting', 'running']).toContain(run.status);
    const events = streamEvents(first);
    expect(steps(events)).toEqual(range(1, STEPS));
    const types = events.map((e) => e.type);
    expect(types.indexOf('hello')).toBeLessThan(types.indexOf('step'));
    expect(types.filter((t) => t === 'done')).toHaveLength(1);
    expect(types.at(-1)).toBe('done');
    // Batched: live messages carry many events, and arrive at a bounded rate.
    const live = first.filter((r) => r.message.kind === 'events' && !r.message.catchUp);
    const withSteps = live.filter((r) => steps(streamEvents([r])).length > 0);
    const span = (withSteps.at(-1)!.at - withSteps[0]!.at) / 1000;
    // The rate is bounded however fast the steps come (the engine flushes every 50 ms)...
    expect(withSteps.length / span).toBeLessThanOrEqual(30);
    // ...so steps faster than that share messages. (Idle, this machine trains ~100 steps a
    // second; a machine so loaded that steps come slower than the flush gets one per message.)
    const stepRate = STEPS / span;
    if (stepRate > 60) expect(STEPS / withSteps.length).toBeGreaterThan(1.5);
    expect(events.length).toBeGreaterThan(live.length);
  });

  it('a second client reattaches mid-run: the full history first, then live', () => {
    const [catchUp, ...rest] = second;
    expect(catchUp?.message).toMatchObject({ kind: 'events', catchUp: true, status: 'running' });
    const history = catchUp?.message.kind === 'events' ? catchUp.message.events : [];
    expect(steps(history)[0]).toBe(1);
    expect(steps(history).at(-1)).toBeGreaterThanOrEqual(joinedAtStep);
    expect(rest.every((r) => r.message.kind === 'events' && !r.message.catchUp)).toBe(true);
    // Together: exactly what the first client saw, no step missing or repeated.
    expect(steps(streamEvents(second))).toEqual(range(1, STEPS));
    expect(streamEvents(second)).toEqual(streamEvents(first));
  });

  it('keeps the run on disk in the engine layout, listed and watchable after it ends', async () => {
    const files = await readdir(run.dir);
    expect(files).toEqual(
      expect.arrayContaining(['spec.json', 'events.jsonl', 'log.txt', 'checkpoints', 'exports']),
    );
    expect(files).not.toContain('host.json');
    const spec = JSON.parse(await readFile(join(run.dir, 'spec.json'), 'utf8')) as {
      out: string;
      method: string;
    };
    expect(spec).toMatchObject({ out: run.dir, method: 'lomo' });
    const c = await BridgeClient.connect(shell.server.port, shell.server.token);
    const list = await c.call<RunSummary[]>('runs:list', {});
    expect(list).toEqual([
      expect.objectContaining({
        id: run.id,
        status: 'finished',
        step: STEPS,
        checkpointStep: STEPS,
      }),
    ]);
    const later = c.watch(run.id);
    await until(() => later.length > 0);
    expect(later[0]?.message).toMatchObject({ catchUp: true, status: 'finished' });
    expect(steps(streamEvents(later))).toEqual(range(1, STEPS));
    c.close();
  });
});
