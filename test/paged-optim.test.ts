// Paged optimizer state (--paged-optim): AdamW with its moments in host memory takes exactly the
// steps of AdamW with device moments (cpu and webgpu), lowers the step's peak by the moments'
// size less at most one tensor's, survives a checkpoint and resume, and `auto` decides as
// documented.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '../engine/backend/memory.js';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { createMethod } from '../engine/optim/create-method.js';
import { decidePaging } from '../engine/optim/paged.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { toBatch } from '../engine/train/text-data.js';
import { runCli } from './cli.js';
import { fixturePath, writeSentencesJsonl } from './fixtures.js';
import { tokenIds } from './numerics.js';

const requireWebgpu = process.env.WHETSTONE_REQUIRE_WEBGPU === '1';
let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-paged-'));
  data = await writeSentencesJsonl(work);
});
afterAll(async () => {
  await initBackend({ backend: 'cpu' });
  await rm(work, { recursive: true, force: true });
});

/** Three clipped, decayed AdamW steps of a QLoRA model; its adapter, losses and peak after. */
async function train(paged: boolean) {
  const pm = await loadPeftModel(
    fixturePath('llama'),
    peftSpec('qlora', { r: 4, targets: ['all-linear'], seed: 5 }),
  );
  // B starts at zero: give it values so every moment differs from step one on.
  for (const [name, v] of pm.model.params.entries()) {
    if (name.endsWith('.lora_B.weight'))
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.02, 'float32', 7)));
  }
  // From before the method exists: the unpaged moments are made with it.
  memory.resetPeak();
  const start = memory.liveBytes;
  const method = createMethod(pm.model, {
    method: 'fo-adamw',
    weightDecay: 0.1,
    maxGradNorm: 0.5,
    pagedOptim: paged,
  });
  const batch = toBatch([tokenIds(20, 1), tokenIds(20, 2)], 20, 0);
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) losses.push((await method.step([batch], 1e-2)).loss);
  const peak = memory.peakBytes - start;
  const adapter = new Map<string, Float32Array>();
  let stateBytes = 0;
  let largest = 0;
  for (const [name, v] of pm.model.params.entries()) {
    if (!v.trainable) continue;
    adapter.set(name, (await v.data()) as Float32Array);
    stateBytes += 2 * v.size * 4;
    largest = Math.max(largest, v.size * 4);
  }
  const state = method.state();
  const moments = new Map<string, Float32Array>();
  for (const [n, t] of state.variables) moments.set(n, (await t.data()) as Float32Array);
  for (const [n, h] of state.host ?? []) moments.set(n, Float32Array.from(h.values));
  tf.dispose([batch.ids, batch.mask]);
  method.dispose();
  pm.model.params.dispose();
  pm.model.dispose();
  return { losses, peak, adapter, moments, stateBytes, largest };
}

describe.each(['cpu', 'webgpu'])('paged AdamW on %s', (backend) => {
  it('takes the unpaged steps exactly, with a peak lower by the moments less one tensor', async () => {
    try {
      await initBackend({ backend: backend as 'cpu' });
    } catch (err) {
      if (backend !== 'webgpu' || requireWebgpu) throw err;
      return;
    }
    const device = await train(false);
    const host = await train(true);
    expect(host.losses).toEqual(device.losses);
    expect(host.losses[2]).not.toBe(host.losses[0]);
    expect([...host.adapter.keys()]).toEqual([...device.adapter.keys()]);
    for (const [name, values] of device.adapter)
      expect(host.adapter.get(name), name).toEqual(values);
    expect(host.moments.size).toBe(2 * device.adapter.size);
    for (const [name, values] of device.moments)
      expect(host.moments.get(name), name).toEqual(values);
    // The device held every moment throughout; paged, at most one tensor's two at a time.
    const saved = device.peak - host.peak;
    expect(saved).toBeLessThanOrEqual(device.stateBytes);
    expect(saved).toBeGreaterThanOrEqual(device.stateBytes - 2 * device.largest);
  });
});

describe('--paged-optim', () => {
  const run = async (out: string, args: string[]) => {
    const r = await runCli([
      'train', '--model', fixturePath('llama'), '--data', data, '--batch', '2', '--seq', '24',
      '--peft', 'lora', '--lora-r', '4', '--method', 'fo-adamw', '--lr', '3e-2',
      '--schedule', 'constant', '--checkpoint-every', '2', '--out', join(work, out), '--json', ...args,
    ]); // prettier-ignore
    expect(r.code, r.stderr + JSON.stringify(r.last)).toBe(0);
    return r;
  };
  const stepLosses = (events: Record<string, unknown>[]) =>
    events.filter((e) => e.type === 'step').map((e) => e.loss as number);

  it('gives the unpaged losses, and a paged run stopped and resumed gives them too', async () => {
    const whole = stepLosses(
      (await run('device', ['--steps', '4', '--paged-optim', 'off'])).events,
    );
    const paged = await run('paged', ['--steps', '4', '--paged-optim', 'on']);
    expect(stepLosses(paged.events)).toEqual(whole);
    const logs = paged.events.filter((e) => e.type === 'log').map((e) => e.message as string);
    expect(logs.some((m) => m.includes('paged to host memory'))).toBe(true);

    const half = await run('half', ['--steps', '2', '--paged-optim', 'on']);
    const resumed = await runCli(['resume', '--run', join(work, 'half'), '--steps', '4', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect([...stepLosses(half.events), ...stepLosses(resumed.events)]).toEqual(whole);
  });

  it("whetstone estimate --paged-optim on counts one tensor's moments instead of all", async () => {
    const estimate = async (mode: string) => {
      const r = await runCli([
        'estimate', '--model', fixturePath('llama'), '--method', 'fo-adamw', '--peft', 'lora',
        '--lora-r', '4', '--paged-optim', mode, '--json',
      ]); // prettier-ignore
      expect(r.last, r.stderr).toMatchObject({ type: 'done', pagedOptim: mode === 'on' });
      return (r.last as { estimate: { optimizerBytes: number; peakBytes: number } }).estimate;
    };
    const [on, off] = [await estimate('on'), await estimate('off')];
    expect(on.optimizerBytes).toBeGreaterThan(0);
    expect(on.optimizerBytes).toBeLessThan(off.optimizerBytes / 4);
    expect(off.peakBytes - on.peakBytes).toBe(off.optimizerBytes - on.optimizerBytes);
  });

  it('is refused for a method without AdamW moments, and auto never pages on cpu or wasm', async () => {
    const refused = await runCli([
      'train', '--model', fixturePath('llama'), '--data', data, '--method', 'lomo',
      '--paged-optim', 'on', '--steps', '1', '--out', join(work, 'refused'), '--json',
    ]); // prettier-ignore
    expect(refused.last).toMatchObject({ type: 'error', code: 'BAD_ARGUMENT' });
    const facts = { mode: 'auto', method: 'fo-adamw', peakBytes: 2 ** 40 } as const;
    expect(decidePaging({ ...facts, backend: 'wasm', freeDeviceBytes: 1 }).pagedOptim).toBe(false);
    expect(decidePaging({ ...facts, backend: 'cpu' }).pagedOptim).toBe(false);
    expect(decidePaging({ ...facts, backend: 'webgpu' }).pagedOptim).toBe(false); // memory unknown
    expect(
      decidePaging({ ...facts, backend: 'tensorflow', freeDeviceBytes: 2 ** 41 }).pagedOptim,
    ).toBe(false);
    expect(
      decidePaging({ ...facts, backend: 'tensorflow', freeDeviceBytes: 2 ** 40 }).pagedOptim,
    ).toBe(true);
    expect(decidePaging({ ...facts, mode: 'on', backend: 'cpu' }).pagedOptim).toBe(true);
    expect(
      decidePaging({ ...facts, mode: 'off', backend: 'tensorflow', freeDeviceBytes: 1 }).pagedOptim,
    ).toBe(false);
  });
});
