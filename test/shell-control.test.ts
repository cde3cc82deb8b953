// Run control and exports through web mode's bridge, in real engine processes: pause holds a
// run (a second client sees "paused"), continue lets it finish; an export reports its progress
// and may only write inside the run's exports folder or a folder the user picked.
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  EstimateResult,
  ExportProgress,
  ExportResult,
  GenerateResult,
  RunEvent,
  RunSummary,
} from '../main/contract.js';
import { BridgeClient, streamEvents, streamStatus, until } from './bridge-client.js';
import { fixturePath } from './fixtures.js';
import { startShell, type Shell } from './shell-setup.js';

let shell: Shell;
let client: BridgeClient;
let picked: string;
let outside: string;

beforeAll(async () => {
  outside = await mkdtemp(join(tmpdir(), 'whetstone-outside-'));
  picked = join(outside, 'picked');
  await mkdir(picked);
  // The desktop's folder dialog, answered with `picked`.
  shell = await startShell({
    picker: (kind) => Promise.resolve(kind === 'export' ? picked : undefined),
  });
  client = await BridgeClient.connect(shell.server.port, shell.server.token);
  await client.call('paths:add', { kind: 'model', path: fixturePath('llama') });
  await client.call('paths:add', { kind: 'dataset', path: shell.dataset });
});
afterAll(async () => {
  client.close();
  await shell.stop();
  await rm(outside, { recursive: true, force: true });
});

const steps = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'step').map((e) => e.step as number);

const start = (steps: number) =>
  client.call<RunSummary>('runs:start', {
    model: fixturePath('llama'),
    data: shell.dataset,
    method: 'lomo',
    steps,
    batch: 2,
    seq: 16,
    checkpointEvery: 100,
    backend: 'wasm',
  });

describe('pause and continue over the bridge', () => {
  it('holds the run at a step boundary; a second client sees it paused; continue finishes it', async () => {
    const run = await start(400);
    const first = client.watch(run.id);
    await until(() => steps(streamEvents(first)).length >= 5);
    await client.call('runs:pause', { runId: run.id, paused: true });
    await until(() => streamStatus(first) === 'paused');
    const heldAt = steps(streamEvents(first)).at(-1)!;
    // A window that opens now is told the run is paused, with the pause in its history.
    const other = await BridgeClient.connect(shell.server.port, shell.server.token);
    const second = other.watch(run.id);
    await until(() => second.length > 0);
    expect(second[0]!.message).toMatchObject({ kind: 'events', catchUp: true, status: 'paused' });
    expect((await other.call<RunSummary>('runs:get', { runId: run.id })).status).toBe('paused');
    // Held: no step comes while paused.
    await new Promise((r) => setTimeout(r, 500));
    expect(steps(streamEvents(first)).at(-1)).toBe(heldAt);
    const pause = streamEvents(first).find((e) => e.type === 'pause')!;
    expect(pause.step).toBe(heldAt);

    await client.call('runs:pause', { runId: run.id, paused: false });
    await until(() => streamStatus(first) === 'finished', 120_000);
    const events = streamEvents(first);
    expect(steps(events)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const cont = events.find((e) => e.type === 'continue')!;
    expect(cont.pausedMs as number).toBeGreaterThanOrEqual(500);
    expect(streamStatus(second)).toBe('finished');
    other.close();
    // Finished: nothing to pause.
    expect(await client.invoke('runs:pause', { runId: run.id, paused: true })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT' },
    });
  }, 180_000);
});

describe('exports', () => {
  let run: RunSummary;
  beforeAll(async () => {
    run = await start(3);
    await shell.services.runs.settled(run.id);
  });

  it('refuses a typed destination outside the run’s exports folder, saying where to export', async () => {
    for (const out of [
      join(outside, 'anywhere', 'deep', 'folder'),
      join(run.dir, 'exports', '..', '..', 'escape'),
      join(run.dir, 'exports'), // the folder itself, not a folder inside it
    ]) {
      const answer = await client.invoke('runs:export', { runId: run.id, out });
      expect(answer).toMatchObject({
        ok: false,
        error: { code: 'PATH_NOT_ALLOWED', hint: expect.stringMatching(/exports/) as string },
      });
    }
    // Nothing was created on the way.
    expect(await readdir(outside)).toEqual(['picked']);
    // A typed export folder cannot be added to the allow-list; only picked.
    expect(
      await client.invoke('paths:add', { kind: 'export', path: join(outside, 'x') }),
    ).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
  });

  it('writes inside a picked folder and inside the run’s exports folder, reporting progress', async () => {
    const seen: (ExportProgress | null)[] = [];
    let finished = false;
    const polling = (async () => {
      while (!finished) {
        seen.push(
          await client.call<ExportProgress | null>('runs:export-progress', { runId: run.id }),
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const inRun = await client.call<ExportResult>('runs:export', {
      runId: run.id,
      out: join(run.dir, 'exports', 'mine'),
    });
    finished = true;
    await polling;
    expect(inRun.files).toContain('model.safetensors');
    const bar = seen.filter((p): p is ExportProgress => p !== null);
    expect(bar.length).toBeGreaterThan(0);
    for (const p of bar) {
      expect(['load', 'write']).toContain(p.phase);
      if (p.total !== undefined) expect(p.done).toBeLessThanOrEqual(p.total);
    }
    expect(
      await client.call<ExportProgress | null>('runs:export-progress', { runId: run.id }),
    ).toBeNull();

    expect(await client.call('paths:pick', { kind: 'export' })).toEqual({
      kind: 'export',
      path: picked,
    });
    const out = join(picked, 'tuned');
    const result = await client.call<ExportResult>('runs:export', { runId: run.id, out });
    expect(result.out).toBe(out);
    expect((await stat(join(out, 'model.safetensors'))).isFile()).toBe(true);

    // The playground's tuned side: generating from the run equals generating from its export.
    const ask = { prompt: 'The stone', maxNewTokens: 6 };
    const fromRun = await client.call<GenerateResult>('models:generate', {
      ...ask,
      model: fixturePath('llama'),
      runId: run.id,
    });
    await client.call('paths:add', { kind: 'model', path: out });
    const fromExport = await client.call<GenerateResult>('models:generate', { ...ask, model: out });
    expect(fromRun.text).toBe(fromExport.text);
    expect(fromRun.newTokens).toBe(6);
    const unknown = await client.invoke('models:generate', { ...ask, model: out, runId: 'nope' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
  });

  it('writes a GGUF file and its Modelfile into the run’s exports folder', async () => {
    const result = await client.call<ExportResult>('runs:export', {
      runId: run.id,
      format: 'gguf',
      quant: 'q8_0',
    });
    expect(result).toMatchObject({ format: 'gguf', quant: 'q8_0' });
    expect(result.out).toBe(
      join(run.dir, 'exports', `gguf-step-${result.step}`, 'model-q8_0.gguf'),
    );
    expect(result.files).toEqual([result.out, join(dirname(result.out), 'Modelfile')]);
    expect((await readFile(result.out)).subarray(0, 4).toString()).toBe('GGUF');
  });
});

describe('the memory estimate gets the adapter settings', () => {
  it('a larger rank or more target modules raise the estimate the engine returns', async () => {
    const estimate = async (extra: Record<string, unknown>) =>
      (
        await client.call<EstimateResult>('models:estimate', {
          model: fixturePath('llama'),
          method: 'fo-adamw',
          peft: 'lora',
          ...extra,
        })
      ).estimate;
    const small = await estimate({ loraR: 2 });
    const large = await estimate({ loraR: 32 });
    const everywhere = await estimate({ loraR: 2, loraTargets: 'all-linear' });
    // Adapter weights, their gradients and AdamW's two moments all scale with r.
    expect(large.gradientBytes).toBe(small.gradientBytes * 16);
    expect(large.optimizerBytes).toBe(small.optimizerBytes * 16);
    expect(large.peakBytes).toBeGreaterThan(small.peakBytes);
    expect(everywhere.gradientBytes).toBeGreaterThan(small.gradientBytes);
    // The fields of kinds still to come pass the contract (the engine reads them when built).
    expect(
      await client.invoke('models:estimate', {
        model: fixturePath('llama'),
        method: 'lomo',
        peft: 'lora',
        virtualTokens: 10,
        pagedOptim: 'on',
        adaloraInitR: 12,
      }),
    ).toMatchObject({ ok: true });
  });
});
