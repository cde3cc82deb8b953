// `whetstone sweep` end to end on the llama fixture: a 2×2 grid trained one run at a time into
// run folders, the tables written; the same command again keeps finished cells and resumes a cut
// one; a cell whose estimate does not fit is listed and never started.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepResult } from '../engine/job-results.js';
import { jobSpecSchema, type JobSpec } from '../engine/protocol.js';
import { SWEEP_FILES, sweepOptionsOf } from '../engine/sweep/grid.js';
import { sweepResults } from '../engine/sweep/read-cells.js';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

const sentiment = join(import.meta.dirname, '..', 'assets', 'datasets', 'sentiment.jsonl');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-sweep-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const sweep = (out: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(
    [
      'sweep', '--model', fixturePath('llama'), '--data', sentiment, '--batch', '2', '--seq', '24',
      '--eval-fraction', '0.1', '--out', out, '--json', ...args,
    ], // prettier-ignore
    env,
  );

describe('whetstone sweep', () => {
  const grid = [
    '--methods',
    'zo-sgd,fo-sgd',
    '--peft',
    'full,prompt',
    '--steps',
    'zo-sgd=6,fo-sgd=4',
  ];

  it('trains a 2×2 grid into run folders and writes the tables', async () => {
    const out = join(work, 'a');
    const run = await sweep(out, grid);
    expect(run.code, run.stderr).toBe(0);
    const result = run.last as unknown as SweepResult;
    expect(result.cells.map((c) => [c.key, c.status])).toEqual([
      ['zo-sgd.full.seed0', 'finished'],
      ['zo-sgd.prompt.seed0', 'finished'],
      ['fo-sgd.full.seed0', 'finished'],
      ['fo-sgd.prompt.seed0', 'finished'],
    ]);
    for (const cell of result.cells) {
      // 202 rows, 10% held out and scored with the sst2 template's label words.
      expect(cell.accuracy! * 20).toBe(Math.round(cell.accuracy! * 20));
      expect(cell.losses.length).toBe(cell.method === 'zo-sgd' ? 6 : 4);
      expect(cell.peakBytes).toBeGreaterThan(0);
      expect(cell.stepMs).toBeGreaterThan(0);
    }
    // Backprop holds activations and gradients; MeZO holds one forward's activations.
    const peak = (key: string) => result.cells.find((c) => c.key === key)!.peakBytes!;
    expect(peak('fo-sgd.full.seed0')).toBeGreaterThan(peak('zo-sgd.full.seed0'));
    const table = await readFile(join(out, SWEEP_FILES.table), 'utf8');
    expect(table).toContain('| method | full | prompt |');
    const acc = result.tables.tables[0]!;
    expect(acc.rows).toEqual(['zero-shot', 'zo-sgd', 'fo-sgd']);
    expect(acc.cells[2]![0]!.mean).toBe(result.cells[2]!.accuracy);
    // Before its first step every full cell of seed 0 is the same model on the same rows.
    const zeroShot = result.cells[0]!.startAccuracy;
    expect(zeroShot).toBeDefined();
    expect(result.cells[2]!.startAccuracy).toBe(zeroShot);
    expect(acc.cells[0]!.map((c) => c.mean)).toEqual([zeroShot, zeroShot]);
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as SweepResult;
    expect(saved.tables).toEqual(result.tables);
    expect((await readdir(join(out, 'runs'))).sort()).toEqual(
      result.cells.map((c) => c.key).sort(),
    );
    // The tables come from the folders alone: read again apart from the run, they are the same.
    const spec = jobSpecSchema.parse({
      kind: 'sweep', model: fixturePath('llama'), data: sentiment, batch: 2, seq: 24,
      evalFraction: 0.1, out, methods: 'zo-sgd,fo-sgd', peft: 'full,prompt', steps: 'zo-sgd=6,fo-sgd=4',
    }); // prettier-ignore
    const again = await sweepResults(sweepOptionsOf(spec as Extract<JobSpec, { kind: 'sweep' }>));
    expect(again).toEqual({ out, cells: result.cells, tables: result.tables });
  });

  it('keeps finished cells and resumes a cut one when run again', async () => {
    const out = join(work, 'a');
    const cut = join(out, 'runs', 'zo-sgd.full.seed0');
    const kept = join(out, 'runs', 'fo-sgd.full.seed0', 'events.jsonl');
    const keptBefore = await readFile(kept, 'utf8');
    // As if killed after the checkpoint of step 3: its events end there, the later checkpoint gone.
    const events = (await readFile(join(cut, 'events.jsonl'), 'utf8')).split('\n');
    const at = events.findIndex((l) => l.includes('"type":"checkpoint"'));
    await writeFile(join(cut, 'events.jsonl'), `${events.slice(0, at + 1).join('\n')}\n`);
    await rm(join(cut, 'checkpoints', 'step-0000006'), { recursive: true });
    await writeFile(
      join(cut, 'checkpoints', 'latest.json'),
      JSON.stringify({ dir: 'step-0000003' }),
    );
    const run = await sweep(out, grid);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(kept, 'utf8')).toBe(keptBefore);
    const after = await readFile(join(cut, 'events.jsonl'), 'utf8');
    expect(after).toContain('"type":"resume","step":3');
    const result = run.last as unknown as SweepResult;
    expect(result.cells.every((c) => c.status === 'finished')).toBe(true);
    expect(result.cells[0]!.losses.map(([s]) => s)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses to reuse a folder whose runs have other settings', async () => {
    const run = await sweep(join(work, 'a'), [...grid.slice(0, -1), 'zo-sgd=8,fo-sgd=4']);
    expect(run.code).toBe(1);
    expect(run.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(run.last.message).toContain('other settings');
  });

  it('lists a cell whose estimate does not fit without starting it', async () => {
    const out = join(work, 'b');
    // Between MeZO's estimate (about 1.2 MB here) and FO-AdamW's (about 5.8 MB).
    const env = { WHETSTONE_MEMORY_LIMIT_BYTES: '3000000' };
    const run = await sweep(
      out,
      ['--methods', 'fo-adamw,zo-sgd', '--peft', 'full', '--steps', '2'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const result = run.last as unknown as SweepResult;
    expect(result.cells.map((c) => [c.key, c.status])).toEqual([
      ['fo-adamw.full.seed0', 'does-not-fit'],
      ['zo-sgd.full.seed0', 'finished'],
    ]);
    expect(result.cells[0]!.note).toMatch(/fo-adamw training .* does not fit|needs/);
    expect(existsSync(join(out, 'runs', 'fo-adamw.full.seed0'))).toBe(false);
    expect(await readFile(join(out, SWEEP_FILES.table), 'utf8')).toContain(
      '| fo-adamw | does not fit |',
    );
    expect((await stat(join(out, 'results.json'))).size).toBeGreaterThan(0);
  });

  it('runs COPA-style data with the template and without it (the ablation)', async () => {
    const copa = join(import.meta.dirname, 'data', 'copa-small.jsonl');
    const run = await runCli([
      'sweep', '--model', fixturePath('llama'), '--data', copa, '--methods', 'zo-sgd',
      '--peft', 'full', '--steps', '2', '--batch', '2', '--seq', '32', '--eval-fraction', '0.25',
      '--ablate-template', '--out', join(work, 'copa'), '--json',
    ]); // prettier-ignore
    expect(run.code, run.stderr).toBe(0);
    const result = run.last as unknown as SweepResult;
    expect(result.cells.map((c) => [c.key, c.status, c.template])).toEqual([
      ['zo-sgd.full.seed0', 'finished', true],
      ['zo-sgd.full.seed0.no-template', 'finished', false],
    ]);
    // 3 of 12 rows held out and scored, with and without the template.
    for (const c of result.cells) {
      const events = await readFile(join(work, 'copa', 'runs', c.key, 'events.jsonl'), 'utf8');
      const scored = JSON.parse(
        events.split('\n').findLast((l) => l.includes('"type":"accuracy"'))!,
      ) as {
        correct: number;
        examples: number;
      };
      expect(scored.examples).toBe(3);
      expect(c.accuracy).toBe(scored.correct / 3);
    }
    const spec = JSON.parse(
      await readFile(
        join(work, 'copa', 'runs', 'zo-sgd.full.seed0.no-template', 'spec.json'),
        'utf8',
      ),
    ) as { noTemplate?: boolean };
    expect(spec.noTemplate).toBe(true);
    expect(result.tables.tables[0]!.columns.map((c) => c.label)).toEqual([
      'full (template)',
      'full (no template)',
    ]);
  });

  it('says which method is unknown', async () => {
    const run = await sweep(join(work, 'c'), ['--methods', 'zo-sgd,mezo']);
    expect(run.code).toBe(1);
    expect(run.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(run.last.message).toContain('unknown mezo');
  });
});
