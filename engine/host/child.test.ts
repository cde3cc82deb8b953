// The child-process host runs real jobs and sends their events back in batches.
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../protocol.js';

const entry = join(import.meta.dirname, '..', '..', 'dist', 'engine', 'host', 'child.js');

interface HostMessage {
  type: string;
  events?: EngineEvent[];
}

function startHost() {
  const child = fork(entry, [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  const messages: HostMessage[] = [];
  child.on('message', (m) => messages.push(m as HostMessage));
  const until = (predicate: () => boolean) =>
    new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (predicate()) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
  const events = () => messages.flatMap((m) => m.events ?? []);
  return { child, messages, events, until };
}

describe('engine child host', () => {
  it('runs jobs in order, batches events, and rejects bad jobs with an error event', async () => {
    const host = startHost();
    await host.until(() => host.messages.some((m) => m.type === 'ready'));
    host.child.send({ type: 'run', job: { kind: 'backends', backend: 'cpu' } });
    host.child.send({ type: 'run', job: { kind: 'generate' } });
    await host.until(
      () => host.events().filter((e) => e.type === 'done' || e.type === 'error').length === 2,
    );
    const finals = host.events().filter((e) => e.type === 'done' || e.type === 'error');
    expect(finals[0]).toMatchObject({ type: 'done', job: 'backends', backend: 'cpu' });
    expect(finals[1]).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    // Logs may come first (backend selection logs as it goes); the first job event is hello.
    const firstJobEvent = host.events().find((e) => e.type !== 'log');
    expect(firstJobEvent).toMatchObject({ type: 'hello', v: 1, backend: { name: 'cpu' } });
    const exited = new Promise<number | null>((resolve) => host.child.on('exit', resolve));
    host.child.send({ type: 'shutdown' });
    expect(await exited).toBe(0);
  });

  it('cancel stops a training job at the next step, with a checkpoint', async () => {
    const work = await mkdtemp(join(tmpdir(), 'whetstone-host-'));
    const data = join(work, 'texts.jsonl');
    await writeFile(
      data,
      `${JSON.stringify({ text: 'The stone is flat and the blade is sharp.' })}\n`,
    );
    const host = startHost();
    await host.until(() => host.messages.some((m) => m.type === 'ready'));
    const model = join(import.meta.dirname, '..', '..', '.fixtures', 'llama');
    const job = {
      kind: 'train',
      model,
      data,
      method: 'lomo',
      steps: 500,
      batch: 1,
      seq: 16,
      backend: 'wasm',
      out: join(work, 'run'),
    };
    host.child.send({ type: 'run', job });
    await host.until(() => host.events().some((e) => e.type === 'step'));
    host.child.send({ type: 'cancel' });
    await host.until(() => host.events().some((e) => e.type === 'done' || e.type === 'error'));
    const done = host.events().find((e) => e.type === 'done') as
      { summary: { cancelled: boolean; steps: number } } | undefined;
    expect(done?.summary.cancelled).toBe(true);
    expect(done!.summary.steps).toBeLessThan(500);
    expect(host.events().some((e) => e.type === 'checkpoint')).toBe(true);
    host.child.send({ type: 'shutdown' });
    await rm(work, { recursive: true, force: true });
  });
});
