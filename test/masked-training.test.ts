// Training masked LMs end to end through the CLI on the RoBERTa fixture: prompt-based
// classification (label words at the mask), the no-template ablation (a classification head that
// every method and adapter trains and checkpoints), MLM on plain text, and the refusals.
import { readdir, readFile } from 'node:fs/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { fixturePath } from './fixtures.js';
import { lossesOf, runCli } from './cli.js';

const model = fixturePath('roberta');
const sentiment = join(import.meta.dirname, '..', 'assets', 'datasets', 'sentiment.jsonl');
// Words that are single tokens of the fixture's small BPE (sst2's "terrible" is not).
const template = ['--template', '{sentence} It was {mask}.', '--label-words', '0=a,1=the'];
const shape = ['--batch', '8', '--seq', '48', '--backend', 'wasm', '--json'];
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-masked-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const train = (out: string, args: string[]) =>
  runCli(['train', '--model', model, '--data', sentiment, '--out', join(work, out), ...args]);

const evalAccuracies = (run: Awaited<ReturnType<typeof runCli>>) =>
  run.events.filter((e) => e.type === 'eval').map((e) => e.accuracy as number);

async function checkpointNames(run: string): Promise<string[]> {
  const dir = join(work, run, 'checkpoints');
  const steps = (await readdir(dir)).filter((d) => d.startsWith('step-')).sort();
  const file = await SafetensorsFile.open(join(dir, steps.at(-1)!, 'model.safetensors'));
  try {
    return file.names();
  } finally {
    await file.close();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('masked LMs: prompt-based classification', () => {
  it('FO-AdamW fits the label words at the mask and reports held-out accuracy', async () => {
    const run = await train('prompt', [
      ...template,
      ...['--method', 'fo-adamw', '--lr', '3e-3', '--steps', '24'],
      ...['--eval-every', '12', '--eval-fraction', '0.2', ...shape],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const losses = lossesOf(run);
    // A cross-entropy over two words starts near ln 2 and falls as the rows are learnt.
    expect(mean(losses.slice(0, 4))).toBeGreaterThan(0.5);
    expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)) - 0.1);
    const accuracies = evalAccuracies(run);
    expect(accuracies).toHaveLength(2);
    for (const a of accuracies) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
    }
  });

  it('refuses a label word of several tokens, and a template without a masked form', async () => {
    const words = await train('words', ['--template', 'sst2', '--method', 'zo-sgd', ...shape]);
    expect(words.code).not.toBe(0);
    expect(words.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(words.last.message).toMatch(/label word "terrible" is \d+ tokens/);
    const copa = await runCli([
      'train',
      ...['--model', model, '--data', join(import.meta.dirname, 'data', 'copa.jsonl')],
      ...['--method', 'zo-sgd', '--out', join(work, 'copa'), ...shape],
    ]);
    expect(copa.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(copa.last.message).toMatch(/copa template has no masked form/);
  });

  it('whetstone eval gives the accuracy of the argmax over the label words', async () => {
    const run = await runCli([
      'eval',
      '--model',
      model,
      '--data',
      sentiment,
      ...template,
      ...shape,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.last).toMatchObject({ format: 'classification', examples: 202, tokens: 202 });
    const accuracy = run.last.accuracy as number;
    expect(accuracy * 202).toBeCloseTo(Math.round(accuracy * 202), 6);
  });
});

describe('masked LMs: --no-template (a classification head on the first token)', () => {
  it('LoRA with ZO-SGD trains the head beside the adapter, saves it, and resumes', async () => {
    const run = await train('head', [
      '--no-template',
      ...[
        '--method',
        'zo-sgd',
        '--peft',
        'lora',
        '--lora-targets',
        'query,value',
        '--lr',
        '1e-3',
        '--steps',
        '6',
      ],
      ...['--checkpoint-every', '3', '--eval-every', '6', '--eval-fraction', '0.2', ...shape],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const names = await checkpointNames('head');
    expect(names).toContain('classifier.weight');
    expect(names).toContain('classifier.bias');
    expect(names.some((n) => n.includes('lora_A'))).toBe(true);
    // Only the adapter and the head are trained (and saved).
    expect(names.every((n) => n.startsWith('classifier.') || n.includes('lora_'))).toBe(true);
    expect(evalAccuracies(run)).toHaveLength(1);
    const resumed = await runCli(['resume', '--run', join(work, 'head'), '--steps', '9', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lossesOf(resumed)).toHaveLength(3);
    // Export does not write the head yet, and says so rather than dropping it.
    const exported = await runCli([
      'export',
      '--run',
      join(work, 'head'),
      '--out',
      join(work, 'x'),
      '--json',
    ]);
    expect(exported.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(exported.last.message).toMatch(/classification head/);
  });

  it('LOMO delivers the head its gradient block by block', async () => {
    const run = await train('head-lomo', [
      '--no-template',
      ...['--method', 'lomo', '--lr', '1e-2', '--steps', '8', ...shape],
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(await checkpointNames('head-lomo')).toContain('classifier.weight');
    const losses = lossesOf(run);
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
  });
});

describe('masked LMs: MLM on plain text', () => {
  it('learns masked tokens of text: the loss falls and eval reports token accuracy', async () => {
    const data = join(work, 'text.jsonl');
    const rows = (await readFile(sentiment, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.stringify({ text: (JSON.parse(l) as { sentence: string }).sentence }));
    await writeFile(data, rows.join('\n') + '\n');
    const run = await runCli([
      'train',
      ...['--model', model, '--data', data, '--out', join(work, 'mlm')],
      ...['--method', 'fo-adamw', '--lr', '3e-3', '--steps', '20', '--pack'],
      ...['--eval-every', '20', '--eval-fraction', '0.1', ...shape],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const losses = lossesOf(run);
    expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)) - 0.5);
    const [accuracy] = evalAccuracies(run);
    expect(accuracy).toBeGreaterThan(0);
  });
});
