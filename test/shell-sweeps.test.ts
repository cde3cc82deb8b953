// Method comparisons through main's channels with real engine processes: each cell becomes a run
// of the store, one at a time; a cell whose estimate will not fit is listed and never started;
// the tables come from the runs' folders.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpcResult, RunSummary, SweepReport, SweepSummary } from '../main/contract.js';
import { dispatch } from '../main/dispatch.js';
import { forkEngine } from '../main/hosting/node-process.js';
import { createServices, type MainServices } from '../main/services.js';
import { fixturePath } from './fixtures.js';

const sentiment = join(import.meta.dirname, '..', 'assets', 'datasets', 'sentiment.jsonl');
const LIMIT = 'WHETSTONE_MEMORY_LIMIT_BYTES';

describe('method comparisons in main', () => {
  let work: string;
  let services: MainServices;
  const previous = process.env[LIMIT];
  const call = async <T>(channel: string, input: unknown): Promise<T> => {
    const result = (await dispatch(services.handlers, channel, input)) as IpcResult<T>;
    if (!result.ok) throw new Error(`${channel}: ${result.error.message}`);
    return result.data;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'whetstone-sweeps-'));
    // The engines inherit it: above MeZO's estimates (about 1.2 MB here), below FO-AdamW's.
    process.env[LIMIT] = '3000000';
    services = await createServices({
      userDataDir: join(work, 'data'),
      launch: forkEngine,
      appVersion: 'test',
      hfHubDir: join(work, 'hub'),
    });
    await call('paths:add', { kind: 'model', path: fixturePath('llama') });
    await call('paths:add', { kind: 'dataset', path: sentiment });
  });
  afterAll(async () => {
    if (previous === undefined) delete process.env[LIMIT];
    else process.env[LIMIT] = previous;
    await services.shutdown();
    await rm(work, { recursive: true, force: true });
  });

  it('runs the grid as runs of the store and tabulates them', async () => {
    const started = await call<SweepSummary>('sweeps:start', {
      model: fixturePath('llama'),
      data: sentiment,
      methods: ['fo-adamw', 'zo-sgd'],
      schemes: ['full', 'prompt'],
      seeds: 1,
      ablateTemplate: false,
      steps: { 'fo-adamw': 2, 'zo-sgd': 3 },
      batch: 2,
      seq: 24,
    });
    expect(started).toMatchObject({ status: 'running', done: 0, total: 4 });
    let report: SweepReport;
    const end = Date.now() + 120_000;
    do {
      await new Promise((r) => setTimeout(r, 200));
      report = await call<SweepReport>('sweeps:get', { sweepId: started.id });
    } while (report.status === 'running' && Date.now() < end);
    expect(report.status).toBe('done');
    expect(report.done).toBe(4);
    expect(report.records.map((r) => [r.key, r.status])).toEqual([
      ['fo-adamw.full.seed0', 'does-not-fit'],
      ['fo-adamw.prompt.seed0', 'does-not-fit'],
      ['zo-sgd.full.seed0', 'finished'],
      ['zo-sgd.prompt.seed0', 'finished'],
    ]);
    expect(report.records[0]!.note).toMatch(/fo-adamw training/);
    expect(report.records[2]!.losses).toHaveLength(3);
    // Only the cells that fit were started, each as a run of the history.
    expect(report.cells.map((c) => c.runId !== undefined)).toEqual([false, false, true, true]);
    const runs = await call<RunSummary[]>('runs:list', {});
    expect(runs.map((r) => r.id).sort()).toEqual(
      report.cells
        .slice(2)
        .map((c) => c.runId)
        .sort(),
    );
    const [accuracy] = report.tables.tables;
    // First the untuned model: the zo-sgd full run's rows scored before its first step.
    expect(accuracy!.rows).toEqual(['zero-shot', 'fo-adamw', 'zo-sgd']);
    expect(accuracy!.cells[0]![0]!.mean).toBe(report.records[2]!.startAccuracy);
    expect(accuracy!.cells[1]![0]).toMatchObject({ note: 'does not fit' });
    expect(accuracy!.cells[2]![1]!.mean).toBe(report.records[3]!.accuracy);
    const listed = await call<SweepSummary[]>('sweeps:list', {});
    expect(listed.map((s) => [s.id, s.status])).toEqual([[started.id, 'done']]);
  });

  it('stops after the run training now, which keeps its checkpoint', async () => {
    const started = await call<SweepSummary>('sweeps:start', {
      model: fixturePath('llama'),
      data: sentiment,
      methods: ['zo-sgd'],
      schemes: ['full', 'lora'],
      seeds: 1,
      ablateTemplate: false,
      steps: { 'zo-sgd': 100_000 },
      batch: 2,
      seq: 24,
    });
    let report = await call<SweepReport>('sweeps:get', { sweepId: started.id });
    const end = Date.now() + 60_000;
    while (!(report.records[0]!.losses.length > 0) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      report = await call<SweepReport>('sweeps:get', { sweepId: started.id });
    }
    await call<SweepSummary>('sweeps:cancel', { sweepId: started.id });
    while (report.status === 'running' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      report = await call<SweepReport>('sweeps:get', { sweepId: started.id });
    }
    expect(report.status).toBe('cancelled');
    expect(report.records.map((r) => [r.key, r.status])).toEqual([
      ['zo-sgd.full.seed0', 'unfinished'],
      ['zo-sgd.lora.seed0', 'not-run'],
    ]);
    const run = await call<RunSummary>('runs:get', { runId: report.cells[0]!.runId });
    expect(run.status).toBe('cancelled');
    expect(run.checkpointStep).toBeGreaterThan(0);
  });

  it('refuses a model the user never opened', async () => {
    const result = await dispatch(services.handlers, 'sweeps:start', {
      model: work,
      data: sentiment,
      methods: ['zo-sgd'],
      schemes: ['full'],
      seeds: 1,
      ablateTemplate: false,
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'PATH_NOT_ALLOWED' } });
  });
});
