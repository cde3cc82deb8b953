// `whetstone export`: a run's newest checkpoint over its base model, as a Hugging Face folder
// that loads, holds the checkpoint's weights exactly, and refuses a run without a checkpoint.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

const sentences = ['The stone is flat.', 'Hold the blade at a steady angle.', 'Wipe it dry.'];

async function tensors(file: string): Promise<Map<string, Float32Array>> {
  const f = await SafetensorsFile.open(file);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of f.names()) out.set(name, Float32Array.from((await f.read(name)).values));
    return out;
  } finally {
    await f.close();
  }
}

describe('export', () => {
  let work: string;
  const model = fixturePath('llama');
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'whetstone-export-'));
    const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: sentences[i % 3] }));
    await writeFile(join(work, 'texts.jsonl'), `${rows.join('\n')}\n`);
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('writes the checkpoint over the base: a folder that loads, with the trained weights', async () => {
    const run = join(work, 'run');
    const train = await runCli([
      'train',
      '--model',
      model,
      '--data',
      join(work, 'texts.jsonl'),
      '--method',
      'lomo',
      '--steps',
      '3',
      '--batch',
      '2',
      '--seq',
      '16',
      '--out',
      run,
      '--json',
    ]);
    expect(train.code).toBe(0);
    const out = join(work, 'merged');
    const done = await runCli(['export', '--run', run, '--out', out, '--json']);
    expect(done.last).toMatchObject({ type: 'done', step: 3, method: 'lomo' });
    expect(done.last.files).toEqual(expect.arrayContaining(['config.json', 'model.safetensors']));

    const merged = await tensors(join(out, 'model.safetensors'));
    const checkpoint = await tensors(join(run, 'checkpoints', 'step-0000003', 'model.safetensors'));
    const base = await tensors(join(model, 'model.safetensors'));
    let changed = 0;
    for (const [name, values] of checkpoint) {
      expect(merged.get(name)).toEqual(values);
      if (!base.get(name)!.every((v, i) => v === values[i])) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    // Progress: bytes of weights written, rising to exactly the bytes the file holds.
    const writes = done.events.filter((e) => e.type === 'progress' && e.phase === 'write');
    const weightBytes = [...merged.values()].reduce((n, v) => n + v.length * 4, 0);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((e) => e.total === weightBytes)).toBe(true);
    const dones = writes.map((e) => e.done as number);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(dones.at(-1)).toBe(weightBytes);
    const info = await runCli(['info', '--model', out, '--json']);
    expect(info.last).toMatchObject({ type: 'done', modelType: 'llama' });

    const again = await runCli(['export', '--run', run, '--out', out, '--json']);
    expect(again.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
  });

  it('refuses a run without a checkpoint, saying what to do', async () => {
    const run = join(work, 'empty-run');
    await mkdir(join(run, 'checkpoints'), { recursive: true });
    await writeFile(
      join(run, 'spec.json'),
      JSON.stringify({ kind: 'train', model, data: join(work, 'texts.jsonl'), method: 'lomo' }),
    );
    const done = await runCli(['export', '--run', run, '--out', join(work, 'x'), '--json']);
    expect(done.last.type).toBe('error');
    expect(done.last.message).toMatch(/no checkpoint/);
    expect(done.last.hint).toMatch(/cancel/);
  });
});
