// AdaLoRA end to end through the CLI: it lowers the held-out loss with fo-adamw and zo-sgd, every
// method family trains it to the target budget with the pruned λ at zero, a resumed run keeps
// its rank pattern, the exported adapter records it as PEFT does and --init-adapter continues
// from it, and estimate takes --peft adalora.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { latestCheckpoint } from '../engine/train/checkpoint.js';
import { lossesOf, runCli, trainLlamaFixture } from './cli.js';
import { fixturePath, writeSentencesJsonl } from './fixtures.js';

let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-adalora-train-'));
  data = await writeSentencesJsonl(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function train(out: string, args: string[]) {
  const run = await trainLlamaFixture(data, join(work, out), ['--peft', 'adalora', ...args]);
  return { losses: lossesOf(run), evals: lossesOf(run, 'eval') };
}

interface AdaState {
  rankPattern: Record<string, boolean[]>;
  final: boolean;
  totalStep: number;
}

/** The checkpoint's rank pattern, and whether every pruned λ in its weights is zero. */
async function checkpointPattern(run: string) {
  const checkpoint = (await latestCheckpoint(join(work, run, 'checkpoints')))!;
  const ada = checkpoint.state.method.adalora as AdaState;
  const weights = await SafetensorsFile.open(join(checkpoint.dir, 'model.safetensors'));
  let prunedZero = true;
  for (const [key, pattern] of Object.entries(ada.rankPattern)) {
    const { values } = await weights.read(key);
    pattern.forEach((keep, i) => (prunedZero &&= keep || values[i] === 0));
  }
  const names = weights.names();
  await weights.close();
  const kept = Object.values(ada.rankPattern).map((p) => p.filter(Boolean).length);
  return { ada, kept, prunedZero, names };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('AdaLoRA training', () => {
  it('fo-adamw lowers the held-out loss and prunes to the target budget', async () => {
    const { evals } = await train('fo-adamw', ['--method', 'fo-adamw', '--lr', '3e-2', '--steps', '20', '--eval-every', '1', '--eval-fraction', '0.25']); // prettier-ignore
    expect(evals).toHaveLength(20);
    expect(evals.at(-1)!).toBeLessThan(evals[0]! - 1);
    const { ada, kept, prunedZero, names } = await checkpointPattern('fo-adamw');
    // Llama's default targets: q and v of both blocks, 8 ranks each on average at the end.
    expect(kept).toHaveLength(4);
    expect(sum(kept)).toBe(8 * 4);
    expect(ada).toMatchObject({ final: true, totalStep: 20 });
    expect(prunedZero).toBe(true);
    expect(names.every((n) => /\.lora_[ABE]$/.test(n))).toBe(true);
  });

  it('zo-sgd lowers the held-out loss', async () => {
    // Zeroth-order: the regulariser's exact step makes P and Q orthonormal, which the task's
    // signal in λ needs (it scales with them); a larger weight gets there within the run.
    const { evals } = await train('zo-sgd', ['--method', 'zo-sgd', '--lr', '0.3', '--steps', '90', '--zo-eps', '1e-2', '--zo-queries', '8', '--adalora-orth-reg', '2', '--eval-every', '15', '--eval-fraction', '0.25']); // prettier-ignore
    expect(evals).toHaveLength(6);
    expect(evals.at(-1)!).toBeLessThan(evals[0]! - 0.15);
    const { kept, prunedZero } = await checkpointPattern('zo-sgd');
    expect(sum(kept)).toBe(8 * 4);
    expect(prunedZero).toBe(true);
  });

  it.each(['fo-sgd', 'lomo', 'adalomo', 'zo-sign', 'zo-mmt', 'zo-cons', 'zo-adam', 'forward-grad'])(
    '%s trains it to the target budget',
    async (method) => {
      const { losses } = await train(`m-${method}`, ['--method', method, '--lr', '1e-3', '--steps', '6', '--adalora-delta-t', '1']); // prettier-ignore
      expect(losses.every(Number.isFinite)).toBe(true);
      const { kept, prunedZero } = await checkpointPattern(`m-${method}`);
      expect(sum(kept)).toBe(8 * 4);
      expect(prunedZero).toBe(true);
    },
  );

  it('resume keeps the rank pattern; the adapter export records it and --init-adapter continues', async () => {
    const first = await train('first', ['--method', 'fo-adamw', '--lr', '3e-2', '--steps', '10', '--adalora-init-r', '6', '--adalora-target-r', '4']); // prettier-ignore
    const before = await checkpointPattern('first');
    const resumed = await runCli(['resume', '--run', join(work, 'first'), '--steps', '14', '--json']); // prettier-ignore
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = await checkpointPattern('first');
    expect(after.ada.rankPattern).toEqual(before.ada.rankPattern);

    const adapter = join(work, 'adapter');
    const exported = await runCli(['export', '--run', join(work, 'first'), '--format', 'adapter', '--out', adapter, '--json']); // prettier-ignore
    expect(exported.last.type, exported.stderr).toBe('done');
    const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8')) as {
      peft_type: string;
      init_r: number;
      target_r: number;
      rank_pattern: Record<string, boolean[]>;
    };
    expect(config).toMatchObject({ peft_type: 'ADALORA', init_r: 6, target_r: 4 });
    expect(config.rank_pattern).toEqual(before.ada.rankPattern);
    const file = await SafetensorsFile.open(join(adapter, 'adapter_model.safetensors'));
    for (const [key, pattern] of Object.entries(config.rank_pattern)) {
      const k = pattern.filter(Boolean).length;
      expect(file.info(`base_model.model.${key}`).shape).toEqual([k, 1]);
    }
    await file.close();
    const merged = await runCli(['export', '--run', join(work, 'first'), '--format', 'merged', '--out', join(work, 'merged'), '--json']); // prettier-ignore
    expect(merged.last.type, merged.stderr).toBe('done');

    // Same data order, same first batch: from the trained adapter the first loss is far lower.
    const next = await train('second', ['--method', 'fo-adamw', '--lr', '3e-2', '--steps', '2', '--init-adapter', adapter]); // prettier-ignore
    expect(next.losses[0]!).toBeLessThan(first.losses[0]! - 0.5);
    const carried = await checkpointPattern('second');
    // The adapter's ranks come back: init_r 6, and what it pruned stays pruned.
    for (const [key, pattern] of Object.entries(config.rank_pattern))
      pattern.forEach((keep, i) => keep || expect(carried.ada.rankPattern[key]![i]).toBe(false));
    // A LoRA run refuses an AdaLoRA adapter with a hint.
    const lora = await runCli(['train', '--model', fixturePath('llama'), '--data', data, '--method', 'fo-adamw', '--peft', 'lora', '--init-adapter', adapter, '--steps', '1', '--out', join(work, 'lora'), '--json']); // prettier-ignore
    expect(lora.last).toMatchObject({ type: 'error', code: 'MODEL_UNSUPPORTED' });
  });

  it('estimate takes --peft adalora', async () => {
    const run = (peft: string) =>
      runCli(['estimate', '--model', fixturePath('llama'), '--method', 'fo-adamw', '--peft', peft, '--json']); // prettier-ignore
    const [lora, adalora] = await Promise.all([run('lora'), run('adalora')]);
    expect(adalora.last).toMatchObject({ type: 'done', peft: 'adalora' });
    const bytes = (r: typeof lora) =>
      (r.last.estimate as { optimizerBytes: number }).optimizerBytes;
    // init_r 12 > r 8, and Ī, Ū beside AdamW's moments.
    expect(bytes(adalora)).toBeGreaterThan(bytes(lora) * 2);
  });
});
