// Every method and scheme on the masked-LM encoders, trained on a padded masked-LM batch:
// block-wise backward (LOMO) equals full backprop, Forward-Grad's JVP equals backprop·v, every
// method and every PEFT scheme lowers the loss, and a LoRA adapter exports in PEFT's layout
// (task_type FEATURE_EXTRACTION) that PyTorch applies to the same logits.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName, PeftKind } from '../common/methods.js';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Tensor } from '../engine/backend/tf.js';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { writeModelFolder } from '../engine/io/model-folder-writer.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { batchLoss } from '../engine/models/loss.js';
import { createMethod } from '../engine/optim/create-method.js';
import { lossAndJvp } from '../engine/optim/forward-grad.js';
import { disposeBatch, type Batch } from '../engine/optim/method.js';
import { batchesLoss } from '../engine/optim/zo.js';
import { trainableTensors } from '../engine/optim/zo-params.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { writePeftAdapter } from '../engine/peft/lora-adapter.js';
import { mergeAdapter } from '../engine/peft/merge.js';
import { mlmBatch } from '../engine/train/mlm-masking.js';
import { fillNormals } from '../engine/util/counter-rng.js';
import { Rng } from '../engine/util/rng.js';
import { encoderFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

let work: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-encoder-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

/** Four rows of different lengths (padding on the right), 30% of their tokens masked. */
function batchFor(model: CausalLM, seed: number): Batch {
  const rows = Array.from({ length: 4 }, (_, r) => tokenIds(16 - 3 * r, seed + r));
  const masking = { maskTokenId: 4, vocabSize: 512, specialIds: new Set<number>(), rate: 0.3 };
  return mlmBatch(rows, 16, model.config.padTokenId!, masking, new Rng(seed));
}

async function snapshot(model: CausalLM): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params.entries())
    if (v.trainable) out.set(name, (await v.data()) as Float32Array);
  return out;
}

function free(model: CausalLM): void {
  model.params.dispose();
  model.dispose();
}

describe.each(encoderFixtures)('%s', (name) => {
  it('one LOMO step (block-wise backward) equals one FO-SGD step', async () => {
    const after: Map<string, Float32Array>[] = [];
    let before = new Map<string, Float32Array>();
    for (const method of ['fo-sgd', 'lomo'] as const) {
      const model = await loadModel(fixturePath(name));
      model.params.setTrainable();
      const batch = batchFor(model, 3);
      before = await snapshot(model);
      const m = createMethod(model, { method, recompute: false });
      tf.tidy(() => forwardLogits(model, batch.ids));
      const tensors = tf.memory().numTensors;
      await m.step([batch], 0.5);
      expect(tf.memory().numTensors, `${method} leaked tensors`).toBe(tensors);
      after.push(await snapshot(model));
      m.dispose();
      disposeBatch(batch);
      free(model);
    }
    let moved = 0;
    for (const [param, original] of before) {
      const [sgd, lomo] = [after[0]!.get(param)!, after[1]!.get(param)!];
      const update = sgd.map((x, i) => x - original[i]!);
      const scale = Math.max(...update.map(Math.abs));
      if (scale < 1e-7) continue;
      moved++;
      const gap = Math.max(...lomo.map((x, i) => Math.abs(x - sgd[i]!)));
      expect(gap / scale, param).toBeLessThan(1e-3);
    }
    expect(moved).toBeGreaterThan(before.size / 2);
  });

  it("Forward-Grad's JVP equals backprop·v", async () => {
    const model = await loadModel(fixturePath(name));
    model.params.setTrainable();
    const batch = batchFor(model, 5);
    const tensors = trainableTensors(model.params);
    const { jvp } = await lossAndJvp(model, tensors, [batch], 17);
    const entries = tensors.map((t) => t.variable);
    const { value, grads } = tf.variableGrads(
      () => batchLoss(forwardLogits(model, batch.ids), batch, model.objective),
      entries,
    );
    let dot = 0;
    for (const t of tensors) {
      const g = (await grads[t.variable.name]!.data()) as Float32Array;
      const v = fillNormals(new Float32Array(t.variable.size), 17, t.stream);
      for (let i = 0; i < g.length; i++) dot += g[i]! * v[i]!;
    }
    expect(Math.abs(jvp - dot) / Math.abs(dot)).toBeLessThan(1e-4);
    tf.dispose([value, ...Object.values(grads)] as Tensor[]);
    disposeBatch(batch);
    free(model);
  });
});

// One repeated batch: the masked-LM loss on it must fall. Rates suit the 2-layer fixture.
const methods: [MethodName, number][] = [
  ['fo-sgd', 0.1],
  ['fo-adamw', 1e-2],
  ['lomo', 0.1],
  ['adalomo', 1e-2],
  ['zo-sgd', 1e-3],
  ['zo-sign', 3e-3],
  ['zo-mmt', 3e-4],
  ['zo-cons', 1e-3],
  ['zo-adam', 1e-3],
  ['forward-grad', 1e-3],
];

describe('every method lowers the masked-LM loss of roberta', () => {
  it.each(methods)('%s (lr %s)', async (method, lr) => {
    const model = await loadModel(fixturePath('roberta'));
    model.params.setTrainable();
    const batch = batchFor(model, 7);
    const start = await batchesLoss(model, [batch]);
    const m = createMethod(model, { method, seed: 1 });
    const steps = method.startsWith('zo') || method === 'forward-grad' ? 12 : 2;
    for (let s = 0; s < steps; s++) await m.step([batch], lr);
    const end = await batchesLoss(model, [batch]);
    m.dispose();
    disposeBatch(batch);
    free(model);
    expect(end).toBeLessThan(start - 0.05);
  });
});

const schemes: PeftKind[] = ['lora', 'qlora', 'adalora', 'prefix', 'prompt'];

// RoBERTa only: BERT shares every line of the encoder these schemes touch (tested above).
describe.each(['roberta'] as const)('%s: every PEFT scheme trains', (name) => {
  it.each(schemes)('%s trains with fo-adamw and zo-sgd', async (kind) => {
    // AdaLoRA starts from E = 0 and P, Q ~ 0.02: a perturbation moves the loss by third-order
    // amounts only, too little for a few float32 zeroth-order steps; backprop trains it here.
    const runs = [
      ['fo-adamw', 3e-2, 3],
      // Prompts take larger zeroth-order steps than low-rank adapters (as the papers' rates do).
      ['zo-sgd', kind === 'prefix' || kind === 'prompt' ? 3e-2 : 3e-3, 15],
    ] as const;
    for (const [method, lr, steps] of kind === 'adalora' ? runs.slice(0, 1) : runs) {
      const spec = peftSpec(kind, {
        r: 4,
        alpha: 8,
        targets: ['all-linear'],
        seed: 3,
        virtualTokens: 4,
      });
      const pm = await loadPeftModel(fixturePath(name), spec);
      const batch = batchFor(pm.model, 9);
      const start = await batchesLoss(pm.model, [batch]);
      const m = createMethod(pm.model, { method, seed: 1, peft: kind, zoQueries: 4 });
      for (let s = 0; s < steps; s++) await m.step([batch], lr);
      const end = await batchesLoss(pm.model, [batch]);
      m.dispose();
      disposeBatch(batch);
      free(pm.model);
      expect(end, `${method}`).toBeLessThan(start - 0.01);
    }
  });
});

const python = '/usr/bin/python3';
const torch = (() => {
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.WHETSTONE_REQUIRE_TORCH === '1') throw new Error('torch is required');
    return false;
  }
})();

async function torchLogits(model: string, ids: number[][], adapter?: string) {
  const idsFile = join(work, 'ids.json');
  await writeFile(idsFile, JSON.stringify(ids));
  const out = join(work, 'torch.safetensors');
  const script = join(import.meta.dirname, 'reference', 'hf_reference.py');
  await promisify(execFile)(python, [script, model, idsFile, out, ...(adapter ? [adapter] : [])]);
  const f = await SafetensorsFile.open(out);
  const { values } = await f.read('logits');
  await f.close();
  return values as Float32Array;
}

describe.each(encoderFixtures)('%s LoRA export', (name) => {
  it('writes a FEATURE_EXTRACTION PEFT adapter and a merged folder that PyTorch agrees with', async () => {
    const base = fixturePath(name);
    const pm = await loadPeftModel(base, peftSpec('lora', { r: 4, alpha: 8, seed: 3 }));
    const batch = batchFor(pm.model, 11);
    const m = createMethod(pm.model, { method: 'fo-adamw', peft: 'lora' });
    for (let s = 0; s < 3; s++) await m.step([batch], 3e-2);
    m.dispose();
    disposeBatch(batch);
    const adapter = join(work, `${name}-adapter`);
    const merged = join(work, `${name}-merged`);
    await writePeftAdapter(pm, base, adapter);
    const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8')) as {
      task_type: string;
      target_modules: string[];
    };
    expect(config.task_type).toBe('FEATURE_EXTRACTION');
    expect(config.target_modules.sort()).toEqual(['query', 'value']); // PEFT's default for both
    const mergedParams = mergeAdapter(pm);
    await writeModelFolder({ baseDir: base, outDir: merged, params: mergedParams });
    mergedParams.dispose();

    const rows = [tokenIds(10, 31), tokenIds(10, 32)];
    const x = tf.tensor2d(rows, [2, 10], 'int32');
    const ours = (await forwardLogits(pm.model, x).data()) as Float32Array;
    const fromMerged = await loadModel(merged);
    const mergedLogits = (await forwardLogits(fromMerged, x).data()) as Float32Array;
    expect(relativeError(mergedLogits, ours)).toBeLessThan(1e-5);
    const untouched = await loadModel(base);
    expect(
      relativeError((await forwardLogits(untouched, x).data()) as Float32Array, ours),
    ).toBeGreaterThan(1e-4);
    free(fromMerged);
    free(untouched);
    free(pm.model);
    x.dispose();
    if (torch) {
      expect(relativeError(ours, await torchLogits(base, rows, adapter))).toBeLessThan(1e-4);
      expect(relativeError(ours, await torchLogits(merged, rows))).toBeLessThan(1e-4);
    }
  });
});
