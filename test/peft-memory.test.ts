// PEFT memory on 27M-parameter Llamas: `whetstone estimate`'s formula within 10% of every measured
// peak, the quantized base stored at 4.127 bits per quantized parameter (plus the tensors left in
// float32), and, where the linear weights dominate (a small vocabulary, activations checkpointed),
// QLoRA's peak below 0.3× the peak of LoRA on the unquantized model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { initBackend } from '../engine/backend/select.js';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { checkModel, type CheckedModel } from '../engine/models/load.js';
import { Params } from '../engine/models/params.js';
import { createMethod } from '../engine/optim/create-method.js';
import type { MethodName } from '../engine/optim/method.js';
import { selectTargets } from '../engine/peft/config.js';
import { loadPeftModel, peftSpec, quantizedModules } from '../engine/peft/load.js';
import { toBatch } from '../engine/train/text-data.js';
import { memoryModelSpec } from './fixtures.js';
import { estimateOf, memoryRows } from './memory-model.js';

const B = 1;
const T = 16;
const R = 8;
let dir: string;
let checked: CheckedModel;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'whetstone-peft-memory-'));
  await writeFixtureModel({ ...memoryModelSpec, out: join(dir, 'm') });
  checked = await checkModel(join(dir, 'm'));
  await checked.source.close();
  await writeFixtureModel({
    arch: 'llama',
    out: join(dir, 'v'),
    layers: 8,
    hidden: 512,
    heads: 8,
    kvHeads: 4,
    vocab: 512,
    seed: 10,
  });
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rows = () => memoryRows(B, T);

async function measure(
  kind: 'lora' | 'qlora',
  method: MethodName,
  recompute = false,
  model = 'm',
  pagedOptim = false,
) {
  const pm = await loadPeftModel(
    join(dir, model),
    peftSpec(kind, { r: R, targets: ['all-linear'] }),
  );
  const trainer = createMethod(pm.model, { method, recompute, pagedOptim });
  const batch = toBatch(rows(), T, 0);
  memory.resetPeak();
  await trainer.step([batch], 1e-4);
  const peak = memory.peakBytes;
  const weights = pm.model.params.bytes();
  batch.ids.dispose();
  batch.mask.dispose();
  trainer.dispose();
  pm.model.params.dispose();
  pm.model.dispose();
  return { peak, weights };
}

/** The estimate for model folder `model` ('m' or 'v') with LoRA of rank R on every linear layer. */
const estimate = (
  kind: 'lora' | 'qlora',
  method: MethodName,
  recompute = false,
  model = 'm',
  paged = false,
) =>
  estimateOf(join(dir, model), {
    method,
    batch: B,
    seq: T,
    recompute,
    peft: kind,
    loraR: R,
    loraTargets: 'all-linear',
    pagedOptim: paged ? 'on' : 'off',
  });

/** Elements of each adapter tensor (A [r, in], B [out, r]) of every linear layer. */
function targetSizes(): number[] {
  const shell = checked.arch.create(checked.config, new Params());
  const sizes = selectTargets(shell.linearSpecs(), ['all-linear']).flatMap((t) => [
    R * t.inFeatures,
    R * t.outFeatures,
  ]);
  shell.dispose();
  return sizes;
}

describe('PEFT memory on a 27M-parameter model', () => {
  it.each([
    ['lora', 'fo-adamw', false],
    ['qlora', 'fo-adamw', false],
    ['qlora', 'fo-adamw', true],
    ['lora', 'fo-sgd', false],
    ['lora', 'lomo', true],
    ['qlora', 'lomo', true],
    ['lora', 'zo-sgd', false],
    ['qlora', 'zo-sgd', false],
    ['qlora', 'zo-adam', false],
  ] as const)(
    '%s with %s (recompute %s): the estimate is within a tenth of the measured peak',
    async (kind, method, ckpt) => {
      const { peak, weights } = await measure(kind, method, ckpt);
      const e = await estimate(kind, method, ckpt);
      // The stored weights are counted exactly (NF4 codes and scales included).
      expect(e.weightBytes).toBe(weights);
      expect(e.peakBytes / peak, `estimate ${e.peakBytes} vs measured ${peak}`).toBeGreaterThan(
        0.9,
      );
      expect(e.peakBytes / peak).toBeLessThan(1.1);
    },
  );

  it('QLoRA needs under 0.3× the memory of LoRA where the linear weights dominate', async () => {
    const lora = await measure('lora', 'fo-adamw', true, 'v');
    const qlora = await measure('qlora', 'fo-adamw', true, 'v');
    expect(qlora.peak / lora.peak).toBeLessThan(0.3);
    for (const [kind, m] of [
      ['lora', lora],
      ['qlora', qlora],
    ] as const) {
      const e = await estimate(kind, 'fo-adamw', true, 'v');
      expect(e.peakBytes / m.peak, kind).toBeGreaterThan(0.9);
      expect(e.peakBytes / m.peak, kind).toBeLessThan(1.1);
    }
  });

  it.each(['lora', 'qlora'] as const)(
    '%s with paged AdamW state: the peak drops by the moments, and the estimate follows',
    async (kind) => {
      const device = await measure(kind, 'fo-adamw', false);
      const host = await measure(kind, 'fo-adamw', false, 'm', true);
      const e = await estimate(kind, 'fo-adamw', false, 'm', true);
      const unpaged = await estimate(kind, 'fo-adamw', false, 'm', false);
      const stateBytes = unpaged.optimizerBytes; // 2 × the adapter's bytes
      const largest = Math.max(...targetSizes()) * 4;
      const saved = device.peak - host.peak;
      // The device kept every moment throughout; paged, at most one tensor's two at a time.
      expect(saved).toBeLessThanOrEqual(stateBytes);
      expect(saved).toBeGreaterThanOrEqual(stateBytes - 2 * largest);
      expect(e.peakBytes / host.peak, `estimate ${e.peakBytes} vs ${host.peak}`).toBeGreaterThan(
        0.9,
      );
      expect(e.peakBytes / host.peak).toBeLessThan(1.1);
    },
  );

  it('stores the quantized base at 4.127 bits per quantized parameter', async () => {
    // Adapters on q and v only: the base is quantized whole all the same.
    const pm = await loadPeftModel(
      join(dir, 'm'),
      peftSpec('qlora', { r: R, targets: ['q_proj', 'v_proj'] }),
    );
    const quantized = quantizedModules(pm.model.linearSpecs()).reduce(
      (s, m) => s + m.inFeatures * m.outFeatures,
      0,
    );
    let floatBytes = 0;
    let nf4Bytes = 0;
    for (const [name, v] of pm.model.params.entries()) {
      if (name.includes('.nf4_')) nf4Bytes += v.size * 4;
      else floatBytes += v.size * 4;
    }
    expect(pm.model.params.bytes()).toBe(floatBytes + nf4Bytes);
    expect((nf4Bytes * 8) / quantized / 4.127).toBeGreaterThan(0.99);
    expect((nf4Bytes * 8) / quantized / 4.127).toBeLessThan(1.01);
    pm.model.params.dispose();
    pm.model.dispose();
  });
});
