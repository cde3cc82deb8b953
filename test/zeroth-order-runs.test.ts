// Zeroth-order runs end to end through the CLI: the update history is written with the
// checkpoints, `whetstone replay` rebuilds the trained weights bit for bit from the base model and
// that history (also across a resume), and a truncated history is refused with a clear error.
import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { ZoHistory } from '../engine/optim/zo-history.js';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-zo-runs-'));
  data = join(work, 'texts.jsonl');
  const rows = Array.from({ length: 16 }, (_, i) =>
    JSON.stringify({ text: `The stone number ${i} sharpens the blade along its edge.` }),
  );
  await writeFile(data, `${rows.join('\n')}\n`);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Every tensor's raw bytes in a safetensors file. */
async function tensors(file: string): Promise<Map<string, Buffer>> {
  const f = await SafetensorsFile.open(file);
  const out = new Map<string, Buffer>();
  for (const name of f.names()) out.set(name, Buffer.from(await f.readRaw(name)));
  await f.close();
  return out;
}

async function lastCheckpoint(run: string): Promise<string> {
  const latest = JSON.parse(await readFile(join(run, 'checkpoints', 'latest.json'), 'utf8')) as {
    dir: string;
  };
  return join(run, 'checkpoints', latest.dir, 'model.safetensors');
}

/** `whetstone replay` of `run` into `out` gives the run's last checkpoint, bit for bit. */
async function expectReplayEqualsCheckpoint(run: string, out: string): Promise<void> {
  const replayed = await runCli([
    'replay',
    '--run',
    run,
    '--out',
    out,
    '--backend',
    'wasm',
    '--json',
  ]);
  expect(replayed.code, replayed.stderr).toBe(0);
  const want = await tensors(await lastCheckpoint(run));
  const got = await tensors(join(out, 'model.safetensors'));
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, bytes] of want) expect(got.get(name)!.equals(bytes), name).toBe(true);
}

const train = (out: string, method: string, steps: number, extra: string[] = []) =>
  runCli([
    'train',
    '--model',
    fixturePath('llama'),
    '--data',
    data,
    '--method',
    method,
    '--steps',
    String(steps),
    '--batch',
    '2',
    '--seq',
    '16',
    '--lr',
    '1e-3',
    '--checkpoint-every',
    '3',
    '--backend',
    'wasm',
    '--out',
    out,
    '--json',
    ...extra,
  ]);

describe('zeroth-order update history', () => {
  it.each([
    ['zo-sgd', ['--weight-decay', '0.1', '--zo-queries', '2']],
    ['zo-sign', ['--zo-sign-form', 'elementwise']],
    ['zo-cons', []],
  ])(
    '%s: replay rebuilds the trained weights bit for bit',
    async (method, extra) => {
      const run = join(work, `${method}-run`);
      const trained = await train(run, method, 5, extra);
      expect(trained.code, trained.stderr).toBe(0);
      const steps = trained.events.filter((e) => e.type === 'step');
      expect(steps.every((e) => typeof e.projectedGrad === 'number')).toBe(true);
      const file = join(run, 'zo-history.bin');
      const { header, history } = ZoHistory.decode(await readFile(file), file);
      expect(header.method).toBe(method);
      // A few records of 24 bytes a step: perturbation, restore and update moves.
      expect((history.count * 24) / 5).toBeLessThanOrEqual(24 * 8);
      const out = join(work, `${method}-replayed`);
      await expectReplayEqualsCheckpoint(run, out);
      // A loadable Hugging Face folder: the base's config and tokenizer beside the weights.
      expect((await readdir(out)).sort()).toEqual(
        expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
      );
    },
    120_000,
  );

  it('replays across a resume, and zero records give back the base model', async () => {
    const run = join(work, 'resumed-run');
    expect((await train(run, 'zo-sgd', 4)).code).toBe(0);
    const resumed = await runCli(['resume', '--run', run, '--steps', '7', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    await expectReplayEqualsCheckpoint(run, join(work, 'resumed-replayed'));

    const base = join(work, 'base-replayed');
    const none = await runCli(['replay', '--run', run, '--out', base, '--records', '0', '--json']);
    expect(none.code, none.stderr).toBe(0);
    const original = await tensors(join(fixturePath('llama'), 'model.safetensors'));
    for (const [name, bytes] of await tensors(join(base, 'model.safetensors')))
      expect(bytes.equals(original.get(name)!), name).toBe(true);
  }, 120_000);

  it('refuses a cut-short history and an existing output folder, saying what to do', async () => {
    const run = join(work, 'zo-sgd-run');
    const file = join(run, 'zo-history.bin');
    const size = (await stat(file)).size;
    await truncate(file, size - 5);
    const cut = await runCli(['replay', '--run', run, '--out', join(work, 'x'), '--json']);
    expect(cut.code).not.toBe(0);
    expect(cut.last).toMatchObject({ type: 'error', code: 'RUN_INVALID' });
    expect(String(cut.last.message)).toContain('zo-history.bin');
    const exists = await runCli([
      'replay',
      '--run',
      join(work, 'zo-cons-run'),
      '--out',
      work,
      '--json',
    ]);
    expect(exists.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(String(exists.last.hint)).toContain('--force');
    const lomoRun = join(work, 'no-history');
    await train(lomoRun, 'zo-adam', 1);
    const adam = await runCli(['replay', '--run', lomoRun, '--out', join(work, 'y'), '--json']);
    expect(String(adam.last.message)).toContain('only zo-sgd, zo-sign and zo-cons');
    const clipped = await train(join(work, 'clipped'), 'zo-sgd', 1, ['--max-grad-norm', '1']);
    expect(clipped.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect(String(clipped.last.hint)).toContain('--max-grad-norm');
  }, 120_000);
});
