// Training runs the same on every backend: two clipped steps of a full-backprop and a fused
// method, and two steps of a zeroth-order method and Forward-Grad (noise from each backend's own
// kernel), give the cpu reference's losses on wasm and webgpu (SwiftShader here), within 1e-4;
// so does QLoRA (each backend's NF4 dequantize kernel) with fo-adamw and zo-sgd.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isZerothOrder } from '../engine/protocol.js';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';
import { webgpuAvailability } from './webgpu.js';

const webgpu = await webgpuAvailability();
let work: string;
let data: string;
let runs = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-train-backends-'));
  data = join(work, 'texts.jsonl');
  const texts = [
    'The stone is flat and the blade is sharp.',
    'Water keeps the stone clean.',
    'Hold the blade at a steady angle.',
  ];
  await writeFile(data, `${texts.map((text) => JSON.stringify({ text })).join('\n')}\n`);
});

const clipped = ['--lr', '0.05', '--max-grad-norm', '0.5'];

async function losses(method: string, backend: string, extra: string[] = []): Promise<number[]> {
  const options = isZerothOrder(method) ? ['--lr', '1e-3'] : clipped;
  const run = await runCli([
    'train',
    '--model',
    fixturePath('qwen2'),
    '--data',
    data,
    '--method',
    method,
    '--steps',
    '2',
    '--batch',
    '2',
    '--seq',
    '16',
    ...options,
    ...extra,
    '--schedule',
    'constant',
    '--backend',
    backend,
    '--out',
    join(work, `${method}-${backend}-${++runs}`),
    '--json',
  ]);
  expect(run.last, run.stderr).toMatchObject({ type: 'done' });
  return run.events.filter((e) => e.type === 'step').map((e) => e.loss as number);
}

describe.each(['fo-adamw', 'adalomo', 'zo-sgd', 'forward-grad'])('%s', (method) => {
  it('wasm gives the cpu losses', async () => {
    const cpu = await losses(method, 'cpu');
    const wasm = await losses(method, 'wasm');
    for (let i = 0; i < 2; i++)
      expect(Math.abs(wasm[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
  });

  it.skipIf(!webgpu.available)(`webgpu gives the cpu losses ${webgpu.note}`, async () => {
    const cpu = await losses(method, 'cpu');
    const gpu = await losses(method, 'webgpu');
    for (let i = 0; i < 2; i++)
      expect(Math.abs(gpu[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
  });
});

describe.each(['fo-adamw', 'zo-sgd'])('QLoRA with %s', (method) => {
  const qlora = ['--peft', 'qlora', '--lora-r', '4'];

  it('wasm gives the cpu losses', async () => {
    const cpu = await losses(method, 'cpu', qlora);
    const wasm = await losses(method, 'wasm', qlora);
    for (let i = 0; i < 2; i++)
      expect(Math.abs(wasm[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
  });

  it.skipIf(!webgpu.available)(`webgpu gives the cpu losses ${webgpu.note}`, async () => {
    const cpu = await losses(method, 'cpu', qlora);
    const gpu = await losses(method, 'webgpu', qlora);
    // The losses move: the adapter trains (B starts at zero, so step 2 differs from step 1).
    expect(cpu[1]).not.toBe(cpu[0]);
    for (let i = 0; i < 2; i++)
      expect(Math.abs(gpu[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
  });
});
