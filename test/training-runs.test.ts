// Training runs end to end: every method lowers the loss on a small text set, a run killed
// mid-way and resumed reaches the same loss curve as one never stopped, a diverging run stops
// with a clear error and leaves its last checkpoint intact, cancel leaves a resumable
// checkpoint, and `whetstone estimate` answers before any weight is read.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { fixturePath, writeSentencesJsonl } from './fixtures.js';

const bin = join(import.meta.dirname, '..', 'bin', 'whetstone.js');
let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-runs-'));
  data = await writeSentencesJsonl(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const stepLosses = (events: Record<string, unknown>[]) =>
  new Map(events.filter((e) => e.type === 'step').map((e) => [e.step as number, e.loss as number]));

/** Run the CLI with --json, send `signal` once it reports `step`; its exit code and events. */
function signalAtStep(
  args: string[],
  step: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; events: Record<string, unknown>[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buffer = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (!sent && buffer.includes(`"type":"step","step":${step}`)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('exit', (code) => {
      // A SIGKILL can cut the last line short: keep the complete ones.
      const lines = buffer.split('\n').filter((l) => l.trim() !== '');
      const events = lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      resolve({ code, events });
    });
  });
}

const common = [
  '--model',
  fixturePath('llama'),
  '--batch',
  '4',
  '--seq',
  '24',
  '--backend',
  'wasm',
  '--json',
];

describe('training runs', () => {
  it.each([
    ['fo-sgd', '0.3'],
    ['fo-adamw', '3e-3'],
    ['lomo', '0.3'],
    ['adalomo', '3e-2'],
  ])('%s lowers the loss on a small text set', async (method, lr) => {
    const out = join(work, `learn-${method}`);
    const run = await runCli([
      'train',
      ...common,
      '--data',
      data,
      '--method',
      method,
      '--lr',
      lr,
      '--steps',
      '12',
      '--schedule',
      'constant',
      '--out',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const losses = [...stepLosses(run.events).values()];
    expect(losses).toHaveLength(12);
    const first = (losses[0]! + losses[1]!) / 2;
    const last = (losses[10]! + losses[11]!) / 2;
    expect(last).toBeLessThan(first - 0.5);
    const done = run.last as {
      type: string;
      summary: { steps: number; runDir: string };
      memory: { peakBytes: number; weightBytes: number };
    };
    expect(done.type).toBe('done');
    expect(done.summary.steps).toBe(12);
    expect(done.memory.peakBytes).toBeGreaterThan(done.memory.weightBytes);
    const step = run.events.find((e) => e.type === 'step') as {
      memory: { liveBytes: number; peakBytes: number };
      tokensPerSec: number;
    };
    expect(step.memory.peakBytes).toBeGreaterThanOrEqual(step.memory.liveBytes);
    expect(step.tokensPerSec).toBeGreaterThan(0);
    // The run folder: spec, append-only events, log, and the final checkpoint.
    expect((await readdir(out)).sort()).toEqual([
      'checkpoints',
      'events.jsonl',
      'log.txt',
      'spec.json',
    ]);
    const fileEvents = (await readFile(join(out, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(fileEvents.at(-1)!.type).toBe('done');
  });

  it('a run killed mid-way and resumed reaches the same losses as one never stopped', async () => {
    const args = [
      'train',
      ...common,
      '--data',
      data,
      '--method',
      'fo-adamw',
      '--lr',
      '3e-3',
      '--steps',
      '8',
      '--checkpoint-every',
      '3',
      '--eval-every',
      '4',
    ];
    const whole = await runCli([...args, '--out', join(work, 'whole')]);
    expect(whole.code, whole.stderr).toBe(0);

    // Kill -9 once step 4 is reported: the checkpoint of step 3 is the last complete one.
    const killedDir = join(work, 'killed');
    await signalAtStep([...args, '--out', killedDir], 4, 'SIGKILL');
    const pointer = JSON.parse(
      await readFile(join(killedDir, 'checkpoints', 'latest.json'), 'utf8'),
    ) as { step: number };
    expect(pointer.step).toBe(3);

    const resumed = await runCli(['resume', '--run', killedDir, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const expected = stepLosses(whole.events);
    const got = stepLosses(resumed.events);
    expect([...got.keys()]).toEqual([4, 5, 6, 7, 8]);
    for (const [step, loss] of got) expect(loss, `step ${step}`).toBe(expected.get(step));
    const evals = (events: Record<string, unknown>[]) =>
      new Map(events.filter((e) => e.type === 'eval').map((e) => [e.step, e.loss]));
    expect([...evals(resumed.events)]).toEqual([...evals(whole.events)]); // steps 4 and 8
  });

  it('a diverging run stops with the step and what to try, and its last checkpoint survives', async () => {
    const out = join(work, 'diverge');
    const run = await runCli([
      'train',
      ...common,
      '--data',
      data,
      '--method',
      'fo-sgd',
      '--lr',
      '1e30',
      '--steps',
      '20',
      '--checkpoint-every',
      '1',
      '--schedule',
      'constant',
      '--out',
      out,
    ]);
    expect(run.code, JSON.stringify(run.last)).toBe(1);
    const error = run.last as { type: string; code: string; message: string; hint: string };
    expect(error.type).toBe('error');
    expect(error.code).toBe('TRAINING_DIVERGED');
    expect(error.message).toMatch(/at step (\d+)/);
    expect(error.hint).toMatch(/learning rate/);
    const failedAt = Number(/at step (\d+)/.exec(error.message)![1]);
    const pointer = JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')) as {
      step: number;
    };
    expect(pointer.step).toBe(failedAt - 1);
    // The checkpoint it names is complete and loads (resume reads it, then diverges again).
    const resumed = await runCli(['resume', '--run', out, '--json']);
    // Resumed from it, the run repeats the failing step exactly and fails there again.
    expect((resumed.last as { message: string }).message).toContain(`at step ${failedAt}`);
  });

  it('Ctrl-C stops at the next step boundary with a checkpoint, and the run resumes from it', async () => {
    const out = join(work, 'cancelled');
    const args = [
      'train',
      ...common,
      '--data',
      data,
      '--method',
      'lomo',
      '--lr',
      '0.1',
      '--steps',
      '40',
      '--out',
      out,
    ];
    const { code, events } = await signalAtStep(args, 2, 'SIGINT');
    expect(code).toBe(0);
    const done = events.at(-1) as { type: string; summary: { cancelled: boolean; steps: number } };
    expect(done.type).toBe('done');
    expect(done.summary.cancelled).toBe(true);
    expect(done.summary.steps).toBeLessThan(40);
    const pointer = JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')) as {
      step: number;
    };
    expect(pointer.step).toBe(done.summary.steps);
    const resumed = await runCli(['resume', '--run', out, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(stepLosses(resumed.events).keys().next().value).toBe(done.summary.steps + 1);
    expect(
      (resumed.last as { summary: { steps: number; cancelled: boolean } }).summary,
    ).toMatchObject({ steps: 40, cancelled: false });
    // A finished run says so, and how to train further.
    const again = await runCli(['resume', '--run', out, '--json']);
    expect(again.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect((again.last as { hint: string }).hint).toContain('--steps 80');
  });

  it('--epochs counts steps from the rows: 24 rows in batches of 4 are 6 steps an epoch', async () => {
    const run = await runCli([
      'train',
      ...common,
      '--data',
      data,
      '--method',
      'fo-sgd',
      '--epochs',
      '1.5',
      '--out',
      join(work, 'epochs'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((run.last as { summary: { steps: number } }).summary.steps).toBe(9);
  });

  it('estimate predicts a run from the headers alone, LOMO far below FO-AdamW', async () => {
    const peak = async (method: string) => {
      const run = await runCli([
        'estimate',
        '--model',
        fixturePath('llama'),
        '--method',
        method,
        '--batch',
        '2',
        '--seq',
        '32',
        '--json',
      ]);
      expect(run.code, run.stderr).toBe(0);
      return (run.last as { estimate: { peakBytes: number; weightBytes: number } }).estimate;
    };
    const adamw = await peak('fo-adamw');
    const lomo = await peak('lomo');
    expect(adamw.peakBytes).toBeGreaterThan(4 * adamw.weightBytes);
    expect(lomo.peakBytes).toBeLessThan(adamw.peakBytes / 2);
  });
});
