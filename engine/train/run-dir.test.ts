import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunDir } from './run-dir.js';

describe('run folders', () => {
  it('appends events in order, and refuses to start a second run in the same folder', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'whetstone-rundir-')), 'run');
    const run = await RunDir.create(dir, { method: 'lomo' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => run.event({ type: 'step', step: i })));
    await run.flush();
    expect((await run.events()).map((e) => e.step)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(JSON.parse(await readFile(join(dir, 'spec.json'), 'utf8'))).toEqual({ method: 'lomo' });
    await expect(RunDir.create(dir, {})).rejects.toThrow(/already holds a run/);
    await rm(dir, { recursive: true, force: true });
  });

  it('a write that fails (folder gone) does not reject unawaited; flush reports it', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'whetstone-rundir-')), 'run');
    const run = await RunDir.create(dir, {});
    await rm(dir, { recursive: true, force: true });
    await expect(run.event({ type: 'step', step: 1 })).resolves.toBeUndefined();
    await expect(run.flush()).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining(dir) as string,
    });
  });

  it('opens a run stored before --checkpointing became --recompute with the current name', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'whetstone-rundir-')), 'run');
    await RunDir.create(dir, { method: 'fo-sgd', checkpointing: true });
    const { spec } = await RunDir.open(dir);
    expect(spec).toEqual({ method: 'fo-sgd', recompute: true });
    await rm(dir, { recursive: true, force: true });
  });
});
