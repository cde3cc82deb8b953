// judgeFit: the verdict follows the estimate's share of the budget, and the advice fits the method.
import { describe, expect, it } from 'vitest';
import type { SystemInfo } from '../../../main/contract.js';
import { judgeFit } from './fit.js';

const GiB = 1024 ** 3;
const system = (over: Partial<SystemInfo> = {}): SystemInfo => ({
  appVersion: 't',
  platform: 'linux',
  backend: 'cpu',
  device: 'cpu',
  gpu: false,
  software: false,
  skipped: [],
  deviceMemory: { source: 'none' },
  hostMemory: { totalBytes: 16 * GiB, freeBytes: 10 * GiB },
  ...over,
});
const estimate = (peak: number) => ({
  peakBytes: peak,
  weightBytes: peak / 4,
  gradientBytes: peak / 4,
  optimizerBytes: peak / 4,
  activationBytes: peak / 4,
});
const fo = { method: 'fo-adamw', batch: 4, recompute: false };

describe('judgeFit', () => {
  it('says fits, tight or will not fit against free host memory', () => {
    expect(judgeFit(estimate(1 * GiB), system(), fo).verdict).toBe('fits');
    expect(judgeFit(estimate(9 * GiB), system(), fo).verdict).toBe('tight');
    const no = judgeFit(estimate(20 * GiB), system(), fo);
    expect(no.verdict).toBe('no-fit');
    expect(no.advice.join(' ')).toMatch(/LOMO/);
    expect(no.advice.join(' ')).toMatch(/recomputing activations/);
    expect(no.advice.join(' ')).toMatch(/batch/);
  });

  it('uses the GPU’s free memory when there is a GPU, and wasm’s heap on wasm', () => {
    const gpu = system({
      gpu: true,
      device: 'RTX',
      deviceMemory: { source: 'nvidia-smi', totalBytes: 8 * GiB, freeBytes: 2 * GiB },
    });
    expect(judgeFit(estimate(3 * GiB), gpu, fo)).toMatchObject({
      verdict: 'no-fit',
      budgetBytes: 2 * GiB,
    });
    expect(judgeFit(estimate(3.5 * GiB), system({ backend: 'wasm' }), fo).verdict).toBe('tight');
  });

  it('is unknown when the GPU does not say how much memory it has', () => {
    const gpu = system({ gpu: true, deviceMemory: { source: 'webgpu' } });
    expect(judgeFit(estimate(GiB), gpu, fo).verdict).toBe('unknown');
  });

  it('follows the engine’s verdict where it judged the backend: refusal, or the backend a run takes', () => {
    const refused = {
      backend: 'wasm',
      fits: false,
      limitBytes: 4 * GiB,
      limitWhat: 'the wasm heap',
      message: 'lomo training does not fit the wasm backend: … Would fit: --peft lora.',
    };
    const no = judgeFit(estimate(3 * GiB), system({ backend: 'wasm' }), fo, refused);
    expect(no).toMatchObject({ verdict: 'no-fit', budgetBytes: 4 * GiB, refusal: refused.message });
    const auto = judgeFit(estimate(3 * GiB), system({ backend: 'wasm' }), fo, {
      ...refused,
      fallback: 'cpu',
    });
    expect(auto.verdict).toBe('tight');
    expect(auto.refusal).toBeUndefined();
    expect(auto.advice).toEqual(['Too large for wasm: the run will use cpu.']);
    const fits = { ...refused, fits: true, message: undefined };
    expect(judgeFit(estimate(GiB), system({ backend: 'wasm' }), fo, fits).verdict).toBe('fits');
  });
});
