// LoRA and QLoRA on every fixture architecture: merged weights give the adapted model's logits,
// the QLoRA forward is the forward of the dequantized base plus the adapter, and the custom
// gradient through NF4 modules equals the ordinary gradient through the dequantized weights; and
// merged into the original full-precision base, QLoRA's adapter gives LoRA's logits over that base.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Tensor2D } from '../engine/backend/tf.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { denseLinear } from '../engine/models/layers/linear.js';
import { causalLmLoss } from '../engine/models/loss.js';
import { architectureFor } from '../engine/models/registry.js';
import type { Params } from '../engine/models/params.js';
import { loadPeftModel, peftSpec, type PeftModel } from '../engine/peft/load.js';
import { isAdapterParam, loraLinear } from '../engine/peft/lora.js';
import { mergeAdapter, mergeIntoOriginal } from '../engine/peft/merge.js';
import { architectureFixtures, encoderFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tf.disposeVariables());

const ids = () => tf.tensor2d([tokenIds(24, 31), tokenIds(24, 32)], [2, 24], 'int32');

/** Give every B a random value, so the adapter changes the output (B starts at zero). */
function randomizeAdapter(params: Params, seed: number): void {
  let k = 0;
  for (const [name, v] of params.entries()) {
    if (name.endsWith('.lora_B.weight'))
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.05, 'float32', seed + k++)));
  }
}

async function logitsOf(model: CausalLM): Promise<Float32Array> {
  const x = ids();
  const out = forwardLogits(model, x);
  const values = (await out.data()) as Float32Array;
  tf.dispose([x, out]);
  return values;
}

async function load(
  name: (typeof architectureFixtures)[number] | (typeof encoderFixtures)[number],
  kind: 'lora' | 'qlora',
) {
  const spec = peftSpec(kind, { r: 4, alpha: 8, targets: ['all-linear'], seed: 3 });
  return loadPeftModel(fixturePath(name), spec);
}

function mergedModel(pm: PeftModel): CausalLM {
  const arch = architectureFor(pm.model.config.modelType, 'config.json');
  return arch.create(pm.model.config, mergeAdapter(pm));
}

function free(...models: CausalLM[]): void {
  for (const m of models) {
    m.params.dispose();
    m.dispose();
  }
}

describe.each([...architectureFixtures, ...encoderFixtures])('%s', (name) => {
  it('LoRA: merged logits equal base + adapter logits', async () => {
    const pm = await load(name, 'lora');
    randomizeAdapter(pm.model.params, 1);
    const merged = mergedModel(pm);
    const adapted = await logitsOf(pm.model);
    const base = await logitsOf(mergedModel({ ...pm, modules: new Map() }));
    // The adapter matters: the merged model is not the base.
    expect(relativeError(base, adapted)).toBeGreaterThan(1e-3);
    expect(relativeError(await logitsOf(merged), adapted)).toBeLessThan(1e-5);
    free(pm.model, merged);
  });

  it('QLoRA: forward equals the dequantized base plus adapter; gradients agree', async () => {
    const pm = await load(name, 'qlora');
    randomizeAdapter(pm.model.params, 2);
    const merged = mergedModel(pm);
    const quantized = await logitsOf(pm.model);
    expect(relativeError(await logitsOf(merged), quantized)).toBeLessThan(1e-5);

    // A LoRA model over the dequantized weights (the merge with the adapter left out), sharing
    // the QLoRA model's adapter values: same loss and same adapter gradients.
    const arch = architectureFor(pm.model.config.modelType, 'config.json');
    const dequantized = mergeAdapter({ ...pm, modules: new Map() });
    for (const [n, v] of pm.model.params.entries())
      if (isAdapterParam(n)) dequantized.add(n, tf.clone(v));
    dequantized.setTrainable(isAdapterParam);
    const reference = arch.create(pm.model.config, dequantized, {
      linear: loraLinear(dequantized, denseLinear(dequantized), pm.modules, 0, { training: false }),
    });
    const gradsOf = (model: CausalLM) => {
      const x = ids();
      const mask = tf.cast<Tensor2D>(tf.onesLike(x), 'float32');
      const vars = [...model.params.entries()].filter(([n]) => isAdapterParam(n));
      const { value, grads } = tf.variableGrads(
        () => causalLmLoss(forwardLogits(model, x), x, mask),
        vars.map(([, v]) => v),
      );
      const byName = new Map(vars.map(([n, v]) => [n, grads[v.name]!]));
      tf.dispose([x, mask]);
      return { value, byName };
    };
    const q = gradsOf(pm.model);
    const r = gradsOf(reference);
    expect(Math.abs((await q.value.data())[0]! - (await r.value.data())[0]!)).toBeLessThan(1e-5);
    let nonzero = 0;
    for (const [n, g] of q.byName) {
      const a = (await g.data()) as Float32Array;
      const b = (await r.byName.get(n)!.data()) as Float32Array;
      if (b.some((v) => v !== 0)) nonzero++;
      expect(relativeError(a, b), n).toBeLessThan(1e-4);
    }
    expect(nonzero).toBe(q.byName.size);
    tf.dispose([q.value, r.value, ...q.byName.values(), ...r.byName.values()]);
    free(pm.model, merged, reference);
  });
});

describe.each([...architectureFixtures, ...encoderFixtures])(
  '%s: QLoRA merged into the original base',
  (name) => {
    it('gives the logits of the full-precision base plus the adapter', async () => {
      const pm = await load(name, 'qlora');
      randomizeAdapter(pm.model.params, 4);
      const arch = architectureFor(pm.model.config.modelType, 'config.json');
      const merged = arch.create(pm.model.config, await mergeIntoOriginal(pm, fixturePath(name)));
      // The reference: LoRA over the float32 base, holding the QLoRA model's adapter values.
      const lora = await load(name, 'lora');
      for (const [n, v] of pm.model.params.entries())
        if (isAdapterParam(n)) lora.model.params.get(n).assign(v);
      const want = await logitsOf(lora.model);
      expect(relativeError(await logitsOf(merged), want)).toBeLessThan(1e-5);
      // The quantized model differs from it by more: the merge used the original weights.
      expect(relativeError(await logitsOf(pm.model), want)).toBeGreaterThan(1e-4);
      free(pm.model, merged, lora.model);
    });
  },
);
