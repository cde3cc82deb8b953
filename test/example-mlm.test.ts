// The shipped example masked LM, assets/models/whetstone-tiny-mlm: prompt-based SST-2-style
// sentiment ("<sentence> It was <mask>." over " terrible" / " great") on the sample
// sentiment.jsonl is above chance before any tuning, and a short prompt-based fine-tune on some
// of the rows raises the accuracy on the others.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const root = join(import.meta.dirname, '..');
const model = join(root, 'assets', 'models', 'whetstone-tiny-mlm');
const sentiment = join(root, 'assets', 'datasets', 'sentiment.jsonl');
const backend = ['--backend', 'wasm'];
// Measured on the shipped model: see assets/models/README.md.
const TUNE_LR = '1e-4';
const TUNE_STEPS = '30';
let work: string;

/** The least k with P(X >= k) <= p for X ~ Binomial(n, 1/2): a score a coin reaches that rarely. */
function chanceCeiling(n: number, p: number): number {
  let tail = 0;
  let term = 0.5 ** n; // P(X = n)
  for (let k = n; k >= 0; k--) {
    if (tail + term > p) return k + 1;
    tail += term;
    term = (term * k) / (n - k + 1); // P(X = k - 1) from P(X = k)
  }
  return 0;
}
let train: string;
let heldOut: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-example-mlm-'));
  // Every fourth row held out; the rest tune.
  const rows = (await readFile(sentiment, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  train = join(work, 'train.jsonl');
  heldOut = join(work, 'held-out.jsonl');
  await writeFile(train, rows.filter((_, i) => i % 4 !== 0).join('\n') + '\n');
  await writeFile(heldOut, rows.filter((_, i) => i % 4 === 0).join('\n') + '\n');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function accuracy(modelDir: string, data: string): Promise<number> {
  const run = await runCli([
    'eval',
    ...['--model', modelDir, '--data', data, '--template', 'sst2', ...backend, '--json'],
  ]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.last.labelWords).toEqual([' terrible', ' great']);
  return run.last.accuracy as number;
}

describe('the example masked LM', () => {
  it('reads sentiment zero-shot above chance, and a short prompt-based tune improves it', async () => {
    const all = await accuracy(model, sentiment);
    // 202 rows, half of each label: a model that guesses gets this many right once in 10^4.
    const rows = 202;
    expect(Math.round(all * rows)).toBeGreaterThanOrEqual(chanceCeiling(rows, 1e-4));
    const before = await accuracy(model, heldOut);

    const run = join(work, 'run');
    const tuned = await runCli([
      'train',
      ...['--model', model, '--data', train, '--template', 'sst2', '--method', 'fo-adamw'],
      ...['--lr', TUNE_LR, '--steps', TUNE_STEPS, '--batch', '16', '--seq', '64', '--seed', '1'],
      ...['--out', run, ...backend, '--json'],
    ]);
    expect(tuned.code, tuned.stderr).toBe(0);
    const out = join(work, 'tuned');
    const exported = await runCli(['export', '--run', run, '--out', out, ...backend, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    const after = await accuracy(out, heldOut);
    expect(after).toBeGreaterThan(before + 0.05);
  });
});
