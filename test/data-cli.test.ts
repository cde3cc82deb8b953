// The dataset pipeline through the CLI: `data inspect`, training on chat and classification
// data (with and without the template), classification accuracy from `eval`, and files that are
// not UTF-8 (--encoding) or hold nothing.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../engine/data/inspect.js';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

const data = (name: string) => join(import.meta.dirname, 'data', name);
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-data-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('whetstone data inspect', () => {
  it('reports format, columns, fields, rendered rows with their mask, token lengths', async () => {
    const run = await runCli([
      'data',
      'inspect',
      data('chat-openai.jsonl'),
      '--model',
      fixturePath('llama'),
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const r = run.last as unknown as InspectReport & { type: string; job: string };
    expect(r).toMatchObject({
      type: 'done',
      job: 'inspect',
      format: 'chat',
      rows: 2,
      validRows: 2,
    });
    expect(r.columns).toEqual(['messages']);
    expect(r.fields[0]).toMatchObject({ column: 'messages', present: 2, types: { list: 2 } });
    const trained = r.preview[0]!.tokens!.filter((t) => t.train).map((t) => t.text);
    expect(trained.join('')).toBe('Rome.<|eot_id|>');
    expect(r.preview[0]!.segments.filter((s) => s.train).map((s) => s.text)).toEqual([
      'Rome.<|eot_id|>',
    ]);
    expect(r.tokens).toMatchObject({ examples: 2, seqLen: 128, overLength: 0, truncated: 0 });
    expect(r.tokens!.min).toBeGreaterThan(10);
  });

  it('lists every problem with file, line and field, and prints trained spans for a person', async () => {
    const json = await runCli(['data', 'inspect', data('bad-chat.jsonl'), '--json']);
    const r = json.last as unknown as InspectReport;
    expect(r.problems.total).toBe(3);
    expect(r.problems.first.map((p) => `${p.line}:${p.field}`)).toEqual([
      '2:messages[1].role',
      '3:messages',
      '4:messages[0].content',
    ]);
    const bin = join(import.meta.dirname, '..', 'bin', 'whetstone.js');
    const human = execFileSync(process.execPath, [bin, 'data', 'inspect', data('bad-chat.jsonl')], {
      encoding: 'utf8',
    });
    expect(human).toContain('format      chat');
    expect(human).toContain('    User: Hi\n    Assistant:⟦ Hello.⟧');
    expect(human).toContain(
      `${data('bad-chat.jsonl')}:2 (messages[1].role): unknown role "wizard"`,
    );
  });
});

describe('training and evaluating on structured data', () => {
  const train = (args: string[]) =>
    runCli([
      'train',
      '--model',
      fixturePath('llama'),
      '--method',
      'fo-sgd',
      '--steps',
      '2',
      '--batch',
      '2',
      '--seq',
      '64',
      '--backend',
      'cpu',
      '--json',
      ...args,
    ]);

  it('trains on chat data with the loss on assistant turns only', async () => {
    const out = join(work, 'chat-run');
    const run = await train(['--data', data('chat-sharegpt.json'), '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const events = await readFile(join(out, 'events.jsonl'), 'utf8');
    const start = JSON.parse(events.split('\n')[0]!) as Record<string, unknown>;
    expect(start).toMatchObject({ type: 'start', trainRows: 2, data: { format: 'chat' } });
    // ShareGPT answers "Eight." and "Cold.": a handful of target tokens per row, not the prompts.
    const steps = run.events.filter((e) => e.type === 'step');
    expect(steps).toHaveLength(2);
    const all = await train([
      '--data',
      data('chat-sharegpt.json'),
      '--train-on',
      'all',
      '--out',
      join(work, 'all'),
    ]);
    const allSteps = all.events.filter((e) => e.type === 'step');
    expect(allSteps[0]!.tokens as number).toBeGreaterThan((steps[0]!.tokens as number) * 3);
  });

  it('trains classification data with the template or without it (the ablation)', async () => {
    const withT = await train(['--data', data('sst2.tsv'), '--out', join(work, 't')]);
    const without = await train([
      '--data',
      data('sst2.tsv'),
      '--no-template',
      '--out',
      join(work, 'n'),
    ]);
    expect(withT.code, withT.stderr).toBe(0);
    expect(without.code, without.stderr).toBe(0);
    const loss = (r: typeof withT) => r.events.find((e) => e.type === 'step')!.loss as number;
    expect(loss(withT)).not.toBeCloseTo(loss(without), 4);
    const spec = JSON.parse(await readFile(join(work, 'n', 'spec.json'), 'utf8')) as {
      noTemplate?: boolean;
    };
    expect(spec.noTemplate).toBe(true);
  });

  it('eval reports classification accuracy from candidate log-likelihoods', async () => {
    const run = await runCli([
      'eval',
      '--model',
      fixturePath('llama'),
      '--data',
      data('copa.jsonl'),
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.last).toMatchObject({
      type: 'done',
      job: 'eval',
      format: 'classification',
      task: 'copa',
      examples: 2,
    });
    const confusion = run.last.confusion as number[][];
    expect(confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([1, 1]);
    expect(run.last.accuracy).toBe((confusion[0]![0]! + confusion[1]![1]!) / 2);
  });
});

describe('encodings and empty files', () => {
  it('stops on Latin-1 read as UTF-8 at its line; --encoding latin1 reads it (inspect, eval)', async () => {
    const csv = join(work, 'latin1.csv');
    await writeFile(csv, Buffer.from('text,label\nfine,1\ncafé,0\n', 'latin1'));
    const refused = await runCli(['data', 'inspect', csv, '--json']);
    expect(refused.last).toMatchObject({
      type: 'error',
      code: 'DATASET_INVALID',
      message: `${csv}: line 3 is not valid UTF-8 (byte 0xE9).`,
    });
    expect(String(refused.last.hint)).toContain('--encoding latin1');
    const read = await runCli(['data', 'inspect', csv, '--encoding', 'latin1', '--json']);
    expect(read.last).toMatchObject({ type: 'done', rows: 2, validRows: 2 });
    expect(JSON.stringify(read.last)).toContain('café');

    // eval's plain-text JSONL path reads the file itself.
    const jsonl = join(work, 'latin1.jsonl');
    await writeFile(jsonl, Buffer.from('{"text": "un café au lait"}\n', 'latin1'));
    const evalArgs = ['eval', '--model', fixturePath('llama'), '--data', jsonl, '--json'];
    expect((await runCli(evalArgs)).last).toMatchObject({
      type: 'error',
      message: `${jsonl}: line 1 is not valid UTF-8 (byte 0xE9).`,
    });
    const evaluated = await runCli([...evalArgs, '--encoding', 'latin1']);
    expect(evaluated.last, evaluated.stderr).toMatchObject({ type: 'done' });

    const unknown = await runCli(['data', 'inspect', csv, '--encoding', 'latin2', '--json']);
    expect(unknown.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(String(unknown.last.message)).toMatch(/utf-8.*latin1.*utf-16le/);
  });

  it('names an empty file, or one of blank lines, and says what to add (inspect, eval)', async () => {
    const empty = join(work, 'empty.jsonl');
    await writeFile(empty, '');
    const inspected = await runCli(['data', 'inspect', empty, '--json']);
    expect(inspected.last).toMatchObject({
      type: 'error',
      code: 'DATASET_INVALID',
      message: `${empty} is empty: there is nothing to train or evaluate on.`,
    });
    expect(String(inspected.last.hint)).toMatch(/one JSON object per line.*Add rows/);
    const blank = join(work, 'blank.jsonl');
    await writeFile(blank, '\n  \n\n');
    const evaluated = await runCli(['eval', '--model', fixturePath('llama'), '--data', blank]);
    expect(evaluated.stderr).toContain(`${blank} holds only blank lines`);
  });
});
