// Fit before load, through the CLI: a run the backend cannot hold is refused with DEVICE_LIMIT
// before anything is loaded (no run folder), and an allocation past the ceiling mid-run ends
// the run with an error event, the run folder's record and exit code 1.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { fixturePath, sharpeningSentences } from './fixtures.js';

let dir: string;
let data: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whetstone-fit-'));
  data = join(dir, 'data.jsonl');
  await writeFile(data, sharpeningSentences.map((text) => JSON.stringify({ text })).join('\n'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const train = (out: string, env: NodeJS.ProcessEnv) =>
  runCli(
    ['train', '--model', fixturePath('llama'), '--data', data, '--method', 'fo-adamw',
     '--batch', '2', '--seq', '16', '--steps', '2', '--out', out, '--json'],
    env,
  ); // prettier-ignore

// The llama fixture's fo-adamw estimate at batch 2 × 16 is about 4.5 MiB; MeZO's under 1 MiB.
const LIMIT = String(3 * 1024 * 1024);

describe('fit before load', () => {
  it('refuses a forced backend that cannot hold the run, saying what would fit', async () => {
    const out = join(dir, 'refused');
    const run = await train(out, {
      WHETSTONE_BACKEND: 'wasm',
      WHETSTONE_MEMORY_LIMIT_BYTES: LIMIT,
    });
    expect(run.code).toBe(1);
    expect(run.last).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
    const message = run.last.message as string;
    expect(message).toMatch(
      /^fo-adamw training \(batch 2 × 16 tokens\) does not fit the wasm backend: the estimate needs tensors at peak [\d.]+ MiB, above WHETSTONE_MEMORY_LIMIT_BYTES \(3\.0 MiB\)\. Would fit: /,
    );
    expect(message).toMatch(/--method zo-sgd \(MeZO\) \(about [\d.]+ KiB\)/);
    expect(message).not.toMatch(/--checkpointing/); // estimated, and it does not fit
    expect(run.events.some((e) => e.type === 'progress')).toBe(false); // nothing was loaded
    expect(existsSync(out)).toBe(false);
  });

  it('in auto mode refuses with DEVICE_LIMIT when no backend can hold the run', async () => {
    const run = await train(join(dir, 'auto'), { WHETSTONE_MEMORY_LIMIT_BYTES: LIMIT });
    expect(run.last).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
    expect(run.code).toBe(1);
  });

  it('ends a run whose allocation passes the ceiling with an error event and exit code 1', async () => {
    const out = join(dir, 'over');
    const run = await train(out, {
      WHETSTONE_BACKEND: 'wasm',
      WHETSTONE_MEMORY_LIMIT_BYTES: LIMIT,
      WHETSTONE_FIT_CHECK: 'off',
    });
    expect(run.code).toBe(1);
    expect(run.last).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
    expect(run.last.message).toMatch(/^Out of memory: .* would pass WHETSTONE_MEMORY_LIMIT_BYTES/);
    expect(run.events.some((e) => e.type === 'step')).toBe(false);
    const events = (await readFile(join(out, 'events.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
  });

  it('runs as before when the run fits', async () => {
    const run = await train(join(dir, 'fits'), { WHETSTONE_BACKEND: 'wasm' });
    expect(run.code).toBe(0);
    expect(run.events.filter((e) => e.type === 'step')).toHaveLength(2);
  });

  it('the estimate job gives the studio the same verdict and message a run is refused with', async () => {
    const env = { WHETSTONE_MEMORY_LIMIT_BYTES: LIMIT };
    const estimate = await runCli(
      ['estimate', '--model', fixturePath('llama'), '--method', 'fo-adamw', '--batch', '2',
       '--seq', '16', '--backend', 'wasm', '--json'],
      env,
    ); // prettier-ignore
    const refused = await train(join(dir, 'same'), { ...env, WHETSTONE_BACKEND: 'wasm' });
    // The fixture's largest tensor is its [512, 64] embedding (the [2, 16, 512] logits are half).
    const figures = estimate.last.estimate as Record<string, number>;
    expect(figures.largestTensorBytes).toBe(512 * 64 * 4);
    expect(figures.hostOverheadBytes).toBeGreaterThan(160 * 1024 * 1024 + 2 * 512 * 64 * 4);
    const fit = estimate.last.fit as Record<string, unknown>;
    expect(fit).toMatchObject({ backend: 'wasm', fits: false, limitBytes: Number(LIMIT) });
    expect(fit.fallback).toBeUndefined(); // the limit holds cpu to the same ceiling
    expect(fit.message).toBe(refused.last.message);
  });

  it('refuses inference jobs that cannot hold the weights and one forward, before loading', async () => {
    const env = { WHETSTONE_BACKEND: 'wasm', WHETSTONE_MEMORY_LIMIT_BYTES: String(256 * 1024) };
    const model = fixturePath('llama');
    const evaluation = await runCli(['eval', '--model', model, '--data', data, '--json'], env);
    expect(evaluation.last).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
    expect(evaluation.last.message).toMatch(
      /^evaluation does not fit the wasm backend: the estimate needs tensors at peak/,
    );
    const generation = await runCli(
      ['generate', '--model', model, '--prompt', 'The', '--json'],
      env,
    );
    expect(generation.last.message).toMatch(/^generation does not fit the wasm backend/);
    expect(generation.events.some((e) => e.type === 'progress' || e.type === 'token')).toBe(false);
  });

  it('refuses an export whose base does not fit, and exports when it does', async () => {
    const run = join(dir, 'to-export');
    expect((await train(run, { WHETSTONE_BACKEND: 'cpu' })).code).toBe(0);
    const exportTo = (out: string, env: NodeJS.ProcessEnv) =>
      runCli(['export', '--run', run, '--out', out, '--json'], {
        WHETSTONE_BACKEND: 'wasm',
        ...env,
      });
    const refused = await exportTo(join(dir, 'merged-refused'), {
      WHETSTONE_MEMORY_LIMIT_BYTES: String(256 * 1024),
    });
    expect(refused.last).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
    expect(refused.last.message).toMatch(/^the export does not fit the wasm backend/);
    expect(existsSync(join(dir, 'merged-refused'))).toBe(false);
    expect((await exportTo(join(dir, 'merged'), {})).last).toMatchObject({ type: 'done' });
  });
});
