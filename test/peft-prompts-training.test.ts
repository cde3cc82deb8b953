// Prefix and prompt tuning end to end through the CLI: both kinds lower the loss with fo-adamw
// and zo-sgd; a run checkpoints only `prompt_embeddings`, exports as a PEFT adapter (merged is
// refused), continues from that adapter with --init-adapter, and generates with its prefix.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
  work = await mkdtemp(join(tmpdir(), 'whetstone-prompts-train-'));
  data = await writeSentencesJsonl(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function train(out: string, args: string[]) {
  return lossesOf(await trainLlamaFixture(data, join(work, out), args));
}

describe('prefix and prompt tuning runs', () => {
  it.each([
    ['prefix', 'fo-adamw', '0.3', 12, 0.5],
    ['prompt', 'fo-adamw', '0.3', 12, 0.5],
    ['prefix', 'zo-sgd', '1', 60, 0.3],
    ['prompt', 'zo-sgd', '1', 60, 0.3],
    ['prefix', 'forward-grad', '1', 40, 0.3],
    ['prompt', 'forward-grad', '1', 40, 0.3],
  ] as const)('%s with %s lowers the loss', async (peft, method, lr, steps, drop) => {
    const losses = await train(`${peft}-${method}`, [
      '--peft', peft, '--method', method, '--lr', lr, '--steps', String(steps), '--zo-eps', '1e-2', '--zo-queries', '4',
    ]); // prettier-ignore
    expect(losses).toHaveLength(steps);
    // Six batches cover the data once: compare the same rows at the start and at the end.
    expect(mean(losses.slice(-6))).toBeLessThan(mean(losses.slice(0, 6)) - drop);
  });

  it.each(['prefix', 'prompt'] as const)(
    '%s: checkpoint, adapter export (merged refused), --init-adapter, generate with the run',
    async (peft) => {
      const name = `${peft}-first`;
      const first = await train(name, ['--peft', peft, '--method', 'fo-adamw', '--lr', '0.3', '--steps', '12', '--virtual-tokens', '6', '--prompt-init-text', 'Sharpen the stone']); // prettier-ignore
      const checkpoint = (await latestCheckpoint(join(work, name, 'checkpoints')))!;
      const weights = await SafetensorsFile.open(join(checkpoint.dir, 'model.safetensors'));
      expect(weights.names()).toEqual(['prompt_embeddings']);
      await weights.close();

      const exportTo = (format: string, out: string) =>
        runCli(['export', '--run', join(work, name), '--format', format, '--out', out, '--json']);
      const merged = await exportTo('merged', join(work, `${peft}-merged`));
      expect(merged.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
      expect(String(merged.last.hint)).toContain('--format adapter');
      const adapter = join(work, `${peft}-adapter`);
      const exported = await exportTo('adapter', adapter);
      expect(exported.last.type, exported.stderr).toBe('done');
      const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8')) as {
        peft_type: string;
        num_virtual_tokens: number;
      };
      expect(config).toMatchObject({
        peft_type: peft === 'prefix' ? 'PREFIX_TUNING' : 'PROMPT_TUNING',
        num_virtual_tokens: 6,
        ...(peft === 'prompt' && {
          prompt_tuning_init: 'TEXT',
          prompt_tuning_init_text: 'Sharpen the stone',
        }),
      });

      // Same data order, same first batch: from the trained adapter the first loss is far lower
      // (its number of virtual tokens comes from the adapter, not the default).
      const resumed = await train(`${peft}-second`, ['--peft', peft, '--method', 'fo-adamw', '--lr', '0.3', '--steps', '2', '--init-adapter', adapter]); // prettier-ignore
      expect(resumed[0]!).toBeLessThan(first[0]! - 0.5);

      // The run generates with its virtual tokens: not what the base model says.
      const generate = (extra: string[]) =>
        runCli(['generate', '--model', fixturePath('llama'), '--prompt', 'The blade', '--max-new-tokens', '8', '--json', ...extra]); // prettier-ignore
      const [base, tuned] = await Promise.all([
        generate([]),
        generate(['--run', join(work, name)]),
      ]);
      expect(tuned.last.type, tuned.stderr).toBe('done');
      expect(tuned.last.ids).not.toEqual(base.last.ids);
    },
  );

  it('refuses methods that recompute part by part, and estimates both kinds', async () => {
    const lomo = await runCli(['train', '--model', fixturePath('llama'), '--data', data, '--method', 'lomo', '--peft', 'prefix', '--steps', '1', '--out', join(work, 'lomo'), '--json']); // prettier-ignore
    expect(lomo.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    // The estimate (the studio's memory check before Start) refuses it the same way.
    const lomoEstimate = await runCli(['estimate', '--model', fixturePath('llama'), '--method', 'adalomo', '--peft', 'prompt', '--json']); // prettier-ignore
    expect(lomoEstimate.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    const estimate = (peft: string) =>
      runCli(['estimate', '--model', fixturePath('llama'), '--method', 'fo-adamw', '--peft', peft, '--json']); // prettier-ignore
    const [full, prefix, prompt] = await Promise.all([
      estimate('full'),
      estimate('prefix'),
      estimate('prompt'),
    ]);
    const of = (r: typeof full) => r.last.estimate as { optimizerBytes: number; peakBytes: number };
    expect(prefix.last).toMatchObject({ type: 'done', peft: 'prefix' });
    expect(of(prompt).optimizerBytes).toBeLessThan(of(full).optimizerBytes / 100);
    expect(of(prefix).peakBytes).toBeLessThan(of(full).peakBytes);
  });
});
