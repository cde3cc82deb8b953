// The CLI contract other tools build on: JSON lines, a final done/error event, exit codes.
import { backendNames } from '../engine/protocol.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-cli-'));
});

describe('whetstone CLI', () => {
  it('info prints one JSON object with the model summary', async () => {
    const run = await runCli(['info', '--model', fixturePath('llama'), '--json']);
    expect(run.code).toBe(0);
    expect(run.events).toHaveLength(1);
    expect(run.last).toMatchObject({
      type: 'done',
      job: 'info',
      modelType: 'llama',
      layers: 2,
      hidden: 64,
      vocab: 512,
    });
    const parameters = run.last.parameters as number;
    expect(parameters).toBeGreaterThan(0);
    expect(run.last.weightBytes).toBe(parameters * 4);
    expect(run.last.memory).toMatchObject({ weightBytes: parameters * 4 });
    expect(run.last.tokenizer).toMatchObject({ chatTemplate: true });
  });

  it('generate streams tokens and ends with the text and memory figures', async () => {
    const run = await runCli([
      'generate',
      '--model',
      fixturePath('gpt2'),
      '--prompt',
      'The workshop was',
      '--max-new-tokens',
      '8',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const tokens = run.events.filter((e) => e.type === 'token');
    expect(run.last).toMatchObject({ type: 'done', job: 'generate' });
    expect(tokens.length).toBe(run.last.newTokens);
    expect(tokens.map((t) => t.text).join('')).toBe(run.last.text);
    const memory = run.last.memory as { peakBytes: number; weightBytes: number };
    expect(memory.weightBytes).toBeGreaterThan(0);
    expect(memory.peakBytes).toBeGreaterThan(memory.weightBytes);
  });

  it('generate is reproducible for a seed and varies across seeds', async () => {
    const args = [
      'generate',
      '--model',
      fixturePath('qwen2'),
      '--prompt',
      'Hello',
      '--max-new-tokens',
      '12',
      '--temperature',
      '1.5',
      '--backend',
      'cpu',
      '--json',
    ];
    const [a, b, c] = await Promise.all([
      runCli([...args, '--seed', '1']),
      runCli([...args, '--seed', '1']),
      runCli([...args, '--seed', '2']),
    ]);
    expect(a.last.ids).toEqual(b.last.ids);
    expect(a.last.ids).not.toEqual(c.last.ids);
  });

  it('eval reports loss and perplexity over a JSONL file', async () => {
    const data = join(work, 'texts.jsonl');
    await writeFile(
      data,
      [
        '{"text": "The quick brown fox jumps over the lazy dog."}',
        '',
        '{"text": "Sharpen the chisel before the oak."}',
      ].join('\n'),
    );
    const run = await runCli([
      'eval',
      '--model',
      fixturePath('opt'),
      '--data',
      data,
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.last).toMatchObject({ type: 'done', job: 'eval', examples: 2 });
    const loss = run.last.loss as number;
    expect(loss).toBeGreaterThan(0);
    expect(run.last.perplexity).toBeCloseTo(Math.exp(loss), 3);
  });

  it('eval names the file, line and field of bad rows', async () => {
    const data = join(work, 'bad.jsonl');
    await writeFile(
      data,
      ['{"text": "fine"}', '{"text": 3}', 'not json', '{"txt": "typo"}'].join('\n'),
    );
    const run = await runCli(['eval', '--model', fixturePath('opt'), '--data', data, '--json']);
    expect(run.code).toBe(1);
    expect(run.last).toMatchObject({ type: 'error', code: 'DATASET_INVALID' });
    const message = run.last.message as string;
    expect(message).toContain(`${data}:2 (text)`);
    expect(message).toContain(`${data}:3`);
    expect(message).toContain(`${data}:4 (text): missing`);
  });

  it('errors are one JSON line with a code, and a non-zero exit', async () => {
    const missing = await runCli(['info', '--model', join(work, 'nowhere'), '--json']);
    expect(missing.code).toBe(1);
    expect(missing.events).toHaveLength(1);
    expect(missing.last).toMatchObject({ type: 'error', code: 'MODEL_NOT_FOUND' });
    const usage = await runCli(['generate', '--model', fixturePath('llama'), '--json']);
    expect(usage.code).toBe(2);
    expect(usage.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(usage.last.message).toContain('--prompt');
    const badNumber = await runCli([
      'generate',
      '--model',
      fixturePath('llama'),
      '--prompt',
      'x',
      '--max-new-tokens',
      'many',
      '--json',
    ]);
    expect(badNumber.last.message).toContain('--max-new-tokens');
    const unknown = await runCli(['train-everything', '--json']);
    expect(unknown.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
  });

  it('fixture writes a loadable model of each architecture', async () => {
    for (const arch of ['llama', 'mistral', 'qwen2', 'gpt2', 'opt']) {
      const out = join(work, `fx-${arch}`);
      const made = await runCli([
        'fixture',
        '--arch',
        arch,
        '--out',
        out,
        '--layers',
        '1',
        '--hidden',
        '32',
        '--heads',
        '2',
        '--vocab',
        '400',
        '--json',
      ]);
      expect(made.last, made.stderr).toMatchObject({ type: 'done', job: 'fixture' });
      const info = await runCli(['info', '--model', out, '--json']);
      expect(info.last).toMatchObject({
        type: 'done',
        modelType: arch,
        layers: 1,
        hidden: 32,
        vocab: 400,
        parameters: made.last.parameters,
      });
    }
    const again = await runCli([
      'fixture',
      '--arch',
      'gpt2',
      '--out',
      join(work, 'fx-gpt2'),
      '--json',
    ]);
    expect(again.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
  });

  it('backends reports the choice and why better ones were skipped', async () => {
    const run = await runCli(['backends', '--json']);
    expect(run.code).toBe(0);
    const skipped = run.last.skipped as { backend: string; reason: string }[];
    expect(typeof run.last.backend).toBe('string');
    expect(typeof run.last.device).toBe('string');
    // Every backend ranked above the chosen one is listed with its reason.
    const order: readonly string[] = backendNames;
    const better = order.slice(0, order.indexOf(run.last.backend as string));
    for (const name of better)
      expect(skipped.find((s) => s.backend === name)?.reason, name).toBeTruthy();
  });
});
