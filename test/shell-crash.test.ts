// The engine dies, the app does not: killing an engine mid-run marks that run failed with a
// reason and a hint while another run carries on; its last checkpoint is intact and `resume`
// continues from it. A restarted host follows a run whose engine is still working, and marks one
// whose engine is gone as failed. Cancel stops a run at a step boundary either way. An engine
// out of memory is reported as such.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, RunStreamMessage, RunSummary } from '../main/contract.js';
import { forkEngine, nodeEngineLauncher } from '../main/hosting/node-process.js';
import { RunManager } from '../main/training/run-manager.js';
import { RunStore } from '../main/training/run-store.js';
import { BridgeClient, streamEvents, streamStatus, until } from './bridge-client.js';
import { fixturePath } from './fixtures.js';
import { startShell, type Shell } from './shell-setup.js';

let shell: Shell;
let client: BridgeClient;
beforeAll(async () => {
  shell = await startShell();
  client = await BridgeClient.connect(shell.server.port, shell.server.token);
  await client.call('paths:add', { kind: 'model', path: fixturePath('llama') });
  await client.call('paths:add', { kind: 'dataset', path: shell.dataset });
});
afterAll(async () => {
  client.close();
  await shell.stop();
});

const steps = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'step').map((e) => e.step as number);

function startRun(steps: number, checkpointEvery: number): Promise<RunSummary> {
  return client.call<RunSummary>('runs:start', {
    model: fixturePath('llama'),
    data: shell.dataset,
    method: 'lomo',
    steps,
    batch: 2,
    seq: 16,
    checkpointEvery,
    backend: 'wasm',
  });
}

describe('engine crashes', () => {
  it('a killed engine fails its run with a hint; another run carries on; resume continues', async () => {
    const doomed = await startRun(2000, 10);
    const other = await startRun(40, 20);
    const doomedStream = client.watch(doomed.id);
    const otherStream = client.watch(other.id);
    await until(() => streamEvents(doomedStream).some((e) => e.type === 'checkpoint'));
    await until(() => (steps(streamEvents(doomedStream)).at(-1) ?? 0) >= 25);
    const pid = shell.services.runs.enginePid(doomed.id);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await until(() => streamStatus(doomedStream) === 'failed');

    const failed = await client.call<RunSummary>('runs:get', { runId: doomed.id });
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('ENGINE_CRASHED');
    expect(failed.error?.message).toMatch(/SIGKILL/);
    const checkpoint = failed.checkpointStep!;
    expect(checkpoint).toBeGreaterThanOrEqual(10);
    expect(failed.error?.hint).toMatch(new RegExp(`checkpoint at step ${checkpoint}`));
    expect(failed.error?.hint).toMatch(/smaller batch/);
    // The stream said so too, as its last event.
    expect(streamEvents(doomedStream).at(-1)).toMatchObject({
      type: 'error',
      code: 'ENGINE_CRASHED',
    });

    // The other run never noticed.
    await until(() => streamStatus(otherStream) === 'finished');
    expect(steps(streamEvents(otherStream))).toHaveLength(40);

    // Resume from the checkpoint: the engine loads it and trains on to the new target.
    const target = checkpoint + 15;
    await client.call('runs:resume', { runId: doomed.id, steps: target });
    const resumed = client.watch(doomed.id);
    await until(() => streamStatus(resumed) === 'finished');
    const events = streamEvents(resumed);
    const resumeAt = events.findIndex((e) => e.type === 'error');
    expect(resumeAt).toBeGreaterThan(0); // the history holds the crash...
    const after = steps(events.slice(resumeAt + 1));
    expect(after[0]).toBe(checkpoint + 1); // ...and training went on from the checkpoint
    expect(after.at(-1)).toBe(target);
    const summary = await client.call<RunSummary>('runs:get', { runId: doomed.id });
    expect(summary).toMatchObject({ status: 'finished', step: target, checkpointStep: target });
  });

  it('a restarted host follows a run whose engine still works, and fails one whose engine is gone', async () => {
    const run = await startRun(400, 200);
    await until(() => (shell.services.runs.enginePid(run.id) ?? 0) > 0);
    const live = client.watch(run.id);
    await until(() => steps(streamEvents(live)).length >= 10);

    // A run whose engine died with its host: no final event, a recorded pid that is gone.
    const storeRoot = join(shell.dataDir, 'runs');
    const orphan = join(storeRoot, '2000-01-01T00-00-00-000Z-lomo');
    await mkdir(orphan, { recursive: true });
    await writeFile(join(orphan, 'spec.json'), JSON.stringify({ method: 'lomo' }));
    await writeFile(
      join(orphan, 'events.jsonl'),
      `${JSON.stringify({ type: 'start', step: 0, maxSteps: 9 })}\n${JSON.stringify({ type: 'step', step: 1, loss: 3 })}\n`,
    );
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(join(orphan, 'host.json'), JSON.stringify({ pid: gone, startedAt: 'x' }));

    // A second host over the same store, as after an app restart.
    const restarted = new RunManager(new RunStore(storeRoot), forkEngine, { followIntervalMs: 50 });
    await restarted.recover();
    const orphanSummary = await restarted.summary('2000-01-01T00-00-00-000Z-lomo');
    expect(orphanSummary.status).toBe('failed');
    expect(orphanSummary.error?.message).toMatch(/interrupted/);

    const received: RunStreamMessage[] = [];
    restarted.watch(run.id, (m) => received.push(m));
    expect(received[0]).toMatchObject({ kind: 'events', catchUp: true, status: 'running' });
    const events = () => received.flatMap((m) => (m.kind === 'events' ? m.events : []));
    expect(steps(events())[0]).toBe(1);
    await until(
      () =>
        received.at(-1)?.kind === 'events' &&
        (received.at(-1) as { status: string }).status === 'finished',
    );
    // From the file: every step once, in order, then the engine's own final event.
    expect(steps(events())).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(events().at(-1)).toMatchObject({ type: 'done' });
    await shell.services.runs.settled(run.id);
  });

  it('cancel stops a run at a step with a checkpoint, whether hosted here or followed', async () => {
    const hosted = await startRun(5000, 1000);
    const hostedStream = client.watch(hosted.id);
    await until(() => steps(streamEvents(hostedStream)).length >= 5);
    await client.call('runs:cancel', { runId: hosted.id });
    await until(() => streamStatus(hostedStream) === 'cancelled');
    const stopped = await client.call<RunSummary>('runs:get', { runId: hosted.id });
    expect(stopped.step).toBeLessThan(5000);
    expect(stopped.checkpointStep).toBe(stopped.step);

    // A run followed by a restarted host is cancelled through its engine's SIGINT.
    const followed = await startRun(5000, 1000);
    const followedStream = client.watch(followed.id);
    await until(() => steps(streamEvents(followedStream)).length >= 5);
    const restarted = new RunManager(new RunStore(join(shell.dataDir, 'runs')), forkEngine, {
      followIntervalMs: 50,
    });
    await restarted.recover();
    expect(restarted.enginePid(followed.id)).toBe(shell.services.runs.enginePid(followed.id));
    await restarted.cancel(followed.id);
    await restarted.settled(followed.id);
    const summary = await restarted.summary(followed.id);
    expect(summary.status).toBe('cancelled');
    expect(summary.checkpointStep).toBe(summary.step);
    await until(() => streamStatus(followedStream) === 'cancelled');
  });

  it('an engine out of memory fails its run as ENGINE_OOM, saying what to change', async () => {
    // A V8 heap far too small for the engine: it aborts with V8's own out-of-memory note.
    const tiny = nodeEngineLauncher({ execArgv: ['--max-old-space-size=16'] });
    const manager = new RunManager(new RunStore(join(shell.dataDir, 'oom-runs')), tiny);
    const run = await manager.start({
      model: fixturePath('llama'),
      data: shell.dataset,
      method: 'lomo',
      steps: 10,
      backend: 'wasm',
    });
    await manager.settled(run.id);
    const failed = await manager.summary(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('ENGINE_OOM');
    expect(failed.error?.message).toMatch(/ran out of memory/);
    expect(failed.error?.hint).toMatch(/smaller batch or sequence length, a 4-bit base/);
  });
});
