// Training adapters end to end through the CLI: LoRA lowers the loss with fo-adamw, lomo and
// zo-sgd, QLoRA with fo-adamw and zo-sgd; a LoRA run checkpoints only its adapter; a run started
// from an exported adapter starts where that adapter left off; estimate takes --peft.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { latestCheckpoint } from '../engine/train/checkpoint.js';
import { lossesOf, mean, runCli, trainLlamaFixture } from './cli.js';
import { fixturePath, writeSentencesJsonl } from './fixtures.js';

let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-peft-train-'));
  data = await writeSentencesJsonl(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function train(out: string, args: string[]) {
  return lossesOf(await trainLlamaFixture(data, join(work, out), args));
}

describe('adapter training', () => {
  it.each([
    ['lora', 'fo-adamw', '3e-2', 12, 0.5],
    ['lora', 'lomo', '0.3', 12, 0.5],
    ['lora', 'zo-sgd', '3e-2', 60, 0.3],
    ['qlora', 'fo-adamw', '3e-2', 12, 0.5],
    ['qlora', 'zo-sgd', '3e-2', 60, 0.3],
  ] as const)('%s with %s lowers the loss', async (peft, method, lr, steps, drop) => {
    // Zeroth-order estimates get noisier with more trainable weights: adapt q and v only there.
    const targets = method.startsWith('zo') ? ['--lora-targets', 'q_proj,v_proj'] : [];
    const losses = await train(`${peft}-${method}`, [
      ...targets,
      '--peft', peft, '--method', method, '--lr', lr, '--steps', String(steps), '--zo-eps', '1e-2', '--zo-queries', '4',
    ]); // prettier-ignore
    expect(losses).toHaveLength(steps);
    // Six batches cover the data once: compare the same rows at the start and at the end.
    expect(mean(losses.slice(-6))).toBeLessThan(mean(losses.slice(0, 6)) - drop);
  });

  it('checkpoints only the adapter, and --init-adapter continues from an exported one', async () => {
    const first = await train('first', ['--peft', 'lora', '--method', 'fo-adamw', '--lr', '3e-2', '--steps', '12', '--lora-r', '4', '--lora-dropout', '0.1']); // prettier-ignore
    const checkpoint = (await latestCheckpoint(join(work, 'first', 'checkpoints')))!;
    const weights = await SafetensorsFile.open(join(checkpoint.dir, 'model.safetensors'));
    expect(weights.names().length).toBeGreaterThan(0);
    expect(weights.names().every((n) => /\.lora_[AB]\.weight$/.test(n))).toBe(true);
    await weights.close();

    const adapter = join(work, 'adapter');
    const exported = await runCli(['export', '--run', join(work, 'first'), '--format', 'adapter', '--out', adapter, '--json']); // prettier-ignore
    expect(exported.last.type, exported.stderr).toBe('done');
    // Same data order, same first batch: from the trained adapter the first loss is far lower.
    const resumed = await train('second', ['--peft', 'lora', '--method', 'fo-adamw', '--lr', '3e-2', '--steps', '2', '--init-adapter', adapter]); // prettier-ignore
    expect(resumed[0]!).toBeLessThan(first[0]! - 0.5);
    const refused = await runCli(['train', '--model', fixturePath('llama'), '--data', data, '--method', 'fo-adamw', '--init-adapter', adapter, '--json']); // prettier-ignore
    expect(refused.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    // A PEFT variant we do not implement (DoRA) is refused, not loaded as plain LoRA.
    const dora = join(work, 'dora');
    await mkdir(dora);
    const config = JSON.parse(
      await readFile(join(adapter, 'adapter_config.json'), 'utf8'),
    ) as object;
    await writeFile(
      join(dora, 'adapter_config.json'),
      JSON.stringify({ ...config, use_dora: true }),
    );
    await copyFile(
      join(adapter, 'adapter_model.safetensors'),
      join(dora, 'adapter_model.safetensors'),
    );
    const doraRun = await runCli(['train', '--model', fixturePath('llama'), '--data', data, '--method', 'fo-adamw', '--peft', 'lora', '--init-adapter', dora, '--steps', '1', '--out', join(work, 'dora-run'), '--json']); // prettier-ignore
    expect(doraRun.last).toMatchObject({ type: 'error', code: 'MODEL_UNSUPPORTED' });
  });

  it('estimate takes --peft and counts the NF4 base', async () => {
    const run = (peft: string) =>
      runCli([
        'estimate',
        '--model',
        fixturePath('llama'),
        '--method',
        'fo-adamw',
        '--peft',
        peft,
        '--json',
      ]);
    const [full, qlora] = await Promise.all([run('full'), run('qlora')]);
    const bytes = (r: typeof full) => (r.last.estimate as { weightBytes: number }).weightBytes;
    expect(qlora.last).toMatchObject({ type: 'done', peft: 'qlora' });
    expect(bytes(qlora)).toBeLessThan(bytes(full));
  });
});
