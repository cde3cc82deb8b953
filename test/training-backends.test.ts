// Training runs the same on every backend: two clipped steps of a full-backprop and a fused
// method, and two steps of a zeroth-order method and Forward-Grad (noise from each backend's own
// kernel), give the cpu reference's losses on wasm and webgpu (SwiftShader here), within 1e-4;
// so does QLoRA (each backend's NF4 dequantize kernel) with fo-adamw and zo-sgd.
import { beforeAll, describe, expect, it } from 'vitest';
import { lossBench } from './backend-losses.js';
import { webgpuAvailability } from './webgpu.js';

const webgpu = await webgpuAvailability();
let losses: Awaited<ReturnType<typeof lossBench>>;

beforeAll(async () => {
  losses = await lossBench('whetstone-train-backends-');
});

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
