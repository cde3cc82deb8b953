// Exports of trained runs, end to end through the CLI: the PEFT adapter folder has PEFT's names
// and shapes, imports back to identical logits, and an independent PyTorch implementation
// (test/reference/hf_reference.py) applying it to the base reproduces our logits, as does the same
// reference on the merged folder. QLoRA runs export merged into the original full-precision base
// (or, when it changed, the dequantized one, with a warning); full fine-tuning runs merged too.
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { loadAdapterWeights, readAdapterOptions } from '../engine/peft/lora-adapter.js';
import { loadRunModel } from '../engine/export/run-model.js';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { latestCheckpoint, restoreWeights } from '../engine/train/checkpoint.js';
import { runCli } from './cli.js';
import { architectureFixtures, fixturePath, fixtureSpecs } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

const python = '/usr/bin/python3';
const reference = join(import.meta.dirname, 'reference', 'hf_reference.py');
const torch = (() => {
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.WHETSTONE_REQUIRE_TORCH === '1') throw new Error(`${python} lacks torch`);
    return false;
  }
})();

let work: string;
let data: string;
let idsFile: string;
const rows = [tokenIds(20, 41), tokenIds(20, 42)];

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-peft-export-'));
  data = join(work, 'texts.jsonl');
  const lines = Array.from({ length: 16 }, (_, i) =>
    JSON.stringify({ text: `The blade ${i} is sharp and the stone is flat.` }),
  );
  await writeFile(data, `${lines.join('\n')}\n`);
  idsFile = join(work, 'ids.json');
  await writeFile(idsFile, JSON.stringify(rows));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

async function train(name: string, model: string, extra: string[]): Promise<string> {
  const out = join(work, `run-${name}`);
  const run = await runCli([
    'train', '--model', model, '--data', data, '--method', 'fo-adamw', '--lr', '3e-2',
    '--steps', '3', '--batch', '2', '--seq', '16', '--backend', 'cpu', '--out', out, '--json',
    ...extra,
  ]); // prettier-ignore
  expect(run.last.type, run.stderr).toBe('done');
  return out;
}

async function exportRun(run: string, format: string, out: string, extra: string[] = []) {
  const r = await runCli([
    'export',
    '--run',
    run,
    '--format',
    format,
    '--out',
    out,
    '--json',
    ...extra,
  ]);
  expect(r.last.type, r.stderr + JSON.stringify(r.last)).toBe('done');
  return r.last;
}

async function logits(model: CausalLM): Promise<Float32Array> {
  const x = tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
  const y = forwardLogits(model, x);
  const values = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return values;
}

async function readLogits(file: string): Promise<Float32Array> {
  const f = await SafetensorsFile.open(file);
  const { values } = await f.read('logits');
  await f.close();
  return values as Float32Array;
}

async function cliLogits(model: string, out: string): Promise<Float32Array> {
  const r = await runCli([
    'logits',
    '--model',
    model,
    '--ids',
    idsFile,
    '--out',
    out,
    '--backend',
    'cpu',
    '--json',
  ]);
  expect(r.last.type, r.stderr).toBe('done');
  return readLogits(out);
}

async function torchLogits(model: string, out: string, adapter?: string): Promise<Float32Array> {
  await promisify(execFile)(python, [
    reference,
    model,
    idsFile,
    out,
    ...(adapter ? [adapter] : []),
  ]);
  return readLogits(out);
}

function free(model: CausalLM): void {
  model.params.dispose();
  model.dispose();
}

describe('AdaLoRA run', () => {
  it('its adapter (pruned ranks) applied by PyTorch and its merged folder give the run’s logits', async () => {
    const base = fixturePath('gpt2');
    const run = await train('adalora', base, [
      '--peft', 'adalora', '--steps', '8', '--adalora-init-r', '6', '--adalora-target-r', '3',
      '--adalora-tinit', '1', '--adalora-tfinal', '2', '--adalora-delta-t', '1',
    ]); // prettier-ignore
    const adapter = join(work, 'adalora-adapter');
    const merged = join(work, 'adalora-merged');
    await exportRun(run, 'adapter', adapter);
    await exportRun(run, 'merged', merged);
    const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8')) as {
      rank_pattern: Record<string, boolean[]>;
    };
    const kept = Object.values(config.rank_pattern).map((p) => p.filter(Boolean).length);
    expect(Math.min(...kept)).toBeLessThan(6); // ranks were pruned
    const { pm } = await loadRunModel(run);
    const ours = await logits(pm.model);
    free(pm.model);
    const mergedLogits = await cliLogits(merged, join(work, 'adalora-merged-logits.safetensors'));
    expect(relativeError(mergedLogits, ours)).toBeLessThan(1e-5);
    if (torch) {
      const out = join(work, 'adalora-torch.safetensors');
      expect(relativeError(ours, await torchLogits(base, out, adapter))).toBeLessThan(1e-4);
    }
  });
});

describe.each(architectureFixtures)('%s LoRA run', (name) => {
  it('exports a PEFT adapter and a merged folder that agree with the run and with PyTorch', async () => {
    const base = fixturePath(name);
    const run = await train(name, base, ['--peft', 'lora', '--lora-r', '4', '--lora-alpha', '8']);
    const adapter = join(work, `${name}-adapter`);
    const merged = join(work, `${name}-merged`);
    await exportRun(run, 'adapter', adapter);
    await exportRun(run, 'merged', merged);

    // PEFT's layout: config fields and key names with [r, in] / [out, r] shapes.
    expect((await readdir(adapter)).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
    ]);
    const config = JSON.parse(
      await readFile(join(adapter, 'adapter_config.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      bias: 'none',
      base_model_name_or_path: base,
    });
    expect(config.fan_in_fan_out).toBe(name === 'gpt2');
    const file = await SafetensorsFile.open(join(adapter, 'adapter_model.safetensors'));
    const keys = file.names();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatch(/^base_model\.model\.(model|transformer)\..*\.lora_[AB]\.weight$/);
      const shape = file.info(key).shape;
      if (key.includes('lora_A')) expect(shape[0]).toBe(4);
      else expect(shape[1]).toBe(4);
    }
    await file.close();

    // The run's own model (base + checkpoint adapter) against the imported adapter: identical.
    const { pm } = await loadRunModel(run);
    const ours = await logits(pm.model);
    free(pm.model);
    const imported = await loadPeftModel(base, peftSpec('lora', await readAdapterOptions(adapter)));
    await loadAdapterWeights(adapter, imported);
    expect([...(await logits(imported.model))]).toEqual([...ours]);
    const untrained = await loadPeftModel(
      base,
      peftSpec('lora', await readAdapterOptions(adapter)),
    );
    expect(relativeError(await logits(untrained.model), ours)).toBeGreaterThan(1e-4); // trained
    free(imported.model);
    free(untrained.model);

    // The merged folder loads as a plain model and gives the adapted logits.
    const mergedLogits = await cliLogits(merged, join(work, `${name}-merged-logits.safetensors`));
    expect(relativeError(mergedLogits, ours)).toBeLessThan(1e-5);
    if (torch) {
      const withAdapter = await torchLogits(
        base,
        join(work, `${name}-torch-adapter.safetensors`),
        adapter,
      );
      expect(relativeError(ours, withAdapter)).toBeLessThan(1e-4);
      const fromMerged = await torchLogits(merged, join(work, `${name}-torch-merged.safetensors`));
      expect(relativeError(mergedLogits, fromMerged)).toBeLessThan(1e-4);
    }
  });
});

describe('other exports', () => {
  it('QLoRA merges into the original full-precision base; it warns exactly when that is changed', async () => {
    // Adapters on q and v over a base quantized whole: unadapted NF4 modules merge too.
    const base = join(work, 'qlora-base');
    await cp(fixturePath('llama'), base, { recursive: true });
    const qlora = ['--peft', 'qlora', '--lora-r', '4', '--lora-targets', 'q_proj,v_proj'];
    const run = await train('qlora', base, qlora);
    const merged = join(work, 'qlora-merged');
    expect((await exportRun(run, 'merged', merged)).warnings).toEqual([]);
    // The reference: plain LoRA over the full-precision base, with the run's adapter.
    const lora = await loadPeftModel(
      base,
      peftSpec('lora', { r: 4, targets: ['q_proj', 'v_proj'] }),
    );
    await restoreWeights((await latestCheckpoint(join(run, 'checkpoints')))!, lora.model.params);
    const fullPrecision = await logits(lora.model);
    free(lora.model);
    const theirs = await cliLogits(merged, join(work, 'qlora-merged.safetensors'));
    expect(relativeError(theirs, fullPrecision)).toBeLessThan(1e-5);
    // ... which the NF4 model itself is not: the test tells the two merges apart.
    const { pm } = await loadRunModel(run);
    expect(relativeError(await logits(pm.model), fullPrecision)).toBeGreaterThan(1e-4);
    free(pm.model);

    // Moved: a copy with the same weights, passed with --model, is still the original.
    const moved = join(work, 'qlora-moved');
    await rename(base, moved);
    const missing = await runCli(['export', '--run', run, '--out', join(work, 'x'), '--json']);
    expect(missing.last).toMatchObject({ type: 'error', code: 'MODEL_NOT_FOUND' });
    const fromMoved = await exportRun(run, 'merged', join(work, 'qlora-moved-merged'), ['--model', moved]); // prettier-ignore
    expect(fromMoved.warnings).toEqual([]);

    // A run that recorded no base (trained before the record existed): dequantized, with a warning.
    await cp(run, `${run}-unrecorded`, { recursive: true });
    await rm(join(`${run}-unrecorded`, 'base-model.json'));
    const unrecorded = await exportRun(`${run}-unrecorded`, 'merged', join(work, 'qlora-unrecorded'), ['--model', moved]); // prettier-ignore
    expect((unrecorded.warnings as string[])[0]).toMatch(/recorded no identity.*NF4/);

    // Changed: other weights in the folder (same architecture). Merged into that folder's
    // dequantized NF4 base, as the QLoRA model over it computes, with the warning.
    await writeFixtureModel({ ...fixtureSpecs.llama!, seed: 77, out: moved, force: true });
    const changed = join(work, 'qlora-changed');
    const done = await exportRun(run, 'merged', changed, ['--model', moved]);
    expect(done.warnings as string[]).toHaveLength(1);
    expect((done.warnings as string[])[0]).toMatch(/not the full-precision base.*NF4/);
    const overChanged = await loadRunModel(run, moved);
    const ours = await logits(overChanged.pm.model);
    free(overChanged.pm.model);
    const changedLogits = await cliLogits(changed, join(work, 'qlora-changed.safetensors'));
    expect(relativeError(changedLogits, ours)).toBeLessThan(1e-5);
  });

  it('a full fine-tuning run exports merged (its weights), not as an adapter; exports are atomic', async () => {
    const run = await train('full', fixturePath('gpt2'), []);
    const out = join(work, 'full-merged');
    await exportRun(run, 'merged', out, ['--max-shard-bytes', '100000']);
    expect(await readdir(out)).toContain('model.safetensors.index.json');
    const { pm } = await loadRunModel(run);
    const ours = await logits(pm.model);
    free(pm.model);
    const before = await cliLogits(fixturePath('gpt2'), join(work, 'full-base.safetensors'));
    const after = await cliLogits(out, join(work, 'full-merged.safetensors'));
    expect(relativeError(after, ours)).toBeLessThan(1e-6);
    expect(relativeError(before, ours)).toBeGreaterThan(1e-4);

    const adapter = await runCli([
      'export',
      '--run',
      run,
      '--format',
      'adapter',
      '--out',
      join(work, 'none'),
      '--json',
    ]);
    expect(adapter.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    const again = await runCli([
      'export',
      '--run',
      run,
      '--format',
      'merged',
      '--out',
      out,
      '--json',
    ]);
    expect(again.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    expect((await readdir(work)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});
