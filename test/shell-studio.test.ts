// The channels the studio screens use: the shipped examples (listed, so allowed), a dataset a
// browser page uploads, inspection and estimates behind the allow-list, and generation.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatch } from '../main/dispatch.js';
import { forkEngine } from '../main/hosting/node-process.js';
import { createServices, type MainServices } from '../main/services.js';
import { fixturePath } from './fixtures.js';

const assetsDir = join(import.meta.dirname, '..', 'assets');

describe('studio channels', () => {
  let work: string;
  let services: MainServices;
  const call = (channel: string, input: unknown) => dispatch(services.handlers, channel, input);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'whetstone-studio-'));
    services = await createServices({
      userDataDir: join(work, 'data'),
      launch: forkEngine,
      appVersion: 'test',
      hfHubDir: join(work, 'hub'),
      assetsDir,
    });
  });
  afterAll(async () => {
    await services.shutdown();
    await rm(work, { recursive: true, force: true });
  });

  it('lists the shipped example model and samples, and lets the app read them', async () => {
    const result = await call('app:examples', {});
    expect(result.ok).toBe(true);
    const examples = (result as { data: { models: { name: string; path: string }[] } }).data;
    expect(examples.models.map((m) => m.name)).toEqual(['whetstone-tiny', 'whetstone-tiny-mlm']);
    const info = await call('models:info', { model: examples.models[0]!.path });
    expect(info).toMatchObject({ ok: true, data: { modelType: 'llama' } });
    const masked = await call('models:info', { model: examples.models[1]!.path });
    expect(masked).toMatchObject({ ok: true, data: { modelType: 'roberta' } });
  });

  it('keeps an uploaded file in the data folder and inspects it; refuses folder names', async () => {
    const text = await readFile(join(assetsDir, 'datasets', 'chat.jsonl'));
    const upload = await call('datasets:upload', {
      name: 'chat.jsonl',
      base64: text.toString('base64'),
    });
    expect(upload.ok).toBe(true);
    const path = (upload as { data: { path: string } }).data.path;
    expect(path.startsWith(join(work, 'data', 'uploads'))).toBe(true);
    expect(await readFile(path)).toEqual(text);

    const bad = await call('datasets:upload', { name: '../escape.jsonl', base64: '' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });

    await call('paths:add', { kind: 'model', path: fixturePath('llama') });
    const report = await call('data:inspect', { data: path, model: fixturePath('llama'), rows: 2 });
    expect(report).toMatchObject({ ok: true, data: { format: 'chat', validRows: 40 } });
    expect((report as { data: { preview: unknown[] } }).data.preview).toHaveLength(2);
  });

  it('reads nothing the user did not name', async () => {
    const inspect = await call('data:inspect', { data: '/etc/passwd' });
    expect(inspect).toMatchObject({ ok: false, error: { code: 'PATH_NOT_ALLOWED' } });
    const generate = await call('models:generate', { model: '/usr', prompt: 'x' });
    expect(generate).toMatchObject({ ok: false, error: { code: 'PATH_NOT_ALLOWED' } });
  });

  it('says web mode cannot open a run folder, and gives its path', async () => {
    const run = await services.runs.store.create('lomo');
    const opened = await call('runs:open-folder', { runId: run.id });
    expect(opened).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect((opened as { error: { hint: string } }).error.hint).toContain(run.dir);
  });

  it('estimates memory and generates from a named model', async () => {
    await call('paths:add', { kind: 'model', path: fixturePath('llama') });
    const lomo = await call('models:estimate', { model: fixturePath('llama'), method: 'lomo' });
    const adam = await call('models:estimate', { model: fixturePath('llama'), method: 'fo-adamw' });
    const peak = (r: unknown) =>
      (r as { data: { estimate: { peakBytes: number } } }).data.estimate.peakBytes;
    expect(peak(lomo)).toBeGreaterThan(0);
    expect(peak(lomo)).toBeLessThan(peak(adam));
    // The method screen's "What trains" choice reaches the estimate: LoRA freezes the base.
    const lora = await call('models:estimate', {
      model: fixturePath('llama'),
      method: 'fo-adamw',
      peft: 'lora',
    });
    expect(peak(lora)).toBeLessThan(peak(adam));
    const generated = await call('models:generate', {
      model: fixturePath('llama'),
      prompt: 'The stone',
      maxNewTokens: 4,
    });
    expect(generated).toMatchObject({ ok: true, data: { newTokens: 4 } });
  });
});
