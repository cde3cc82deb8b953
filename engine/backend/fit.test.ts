// The fit rule: each backend's ceilings against the estimate, the override, and the refusal text.
import { describe, expect, it } from 'vitest';
import {
  fitProblems,
  formatBytes,
  limitsOf,
  memoryLimitOverride,
  refusalMessage,
  staticLimitsOf,
  WASM_HEAP_MAX_BYTES,
  type FitNeeds,
} from './fit.js';
import { parseMemAvailable } from './host-memory.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const host = { availableBytes: 16 * GiB, rssBytes: 200 * MiB };
const needs = (peakGiB: number, over: Partial<FitNeeds> = {}): FitNeeds => ({
  what: 'lomo training (batch 1 × 128 tokens)',
  peakBytes: peakGiB * GiB,
  largestTensorBytes: 512 * MiB,
  hostOverheadBytes: 300 * MiB,
  ...over,
});
const cpu = { gpu: false, software: false };
const wasm = { ...cpu, maxLiveBytes: WASM_HEAP_MAX_BYTES };

describe('fit rule', () => {
  it('holds wasm to its heap: the 4.21 GiB LOMO estimate of issue 14 is refused, 3.9 GiB is not', () => {
    const limits = limitsOf('wasm', wasm, host, { env: {} });
    expect(fitProblems(needs(4.21), limits)).toEqual([
      'tensors at peak 4.21 GiB, above the wasm heap (4.00 GiB)',
    ]);
    expect(fitProblems(needs(3.9), limits)).toEqual([]);
  });

  it('holds host-memory backends to available RAM plus what the process holds, overhead included', () => {
    const limits = limitsOf('cpu', cpu, host, { env: {} });
    expect(limits.host.bytes).toBe(16 * GiB + 200 * MiB);
    expect(fitProblems(needs(15.8), limits)).toEqual([]);
    // 15.95 GiB of tensors + 300 MiB of runtime passes 16.2 GiB.
    expect(fitProblems(needs(15.95), limits)[0]).toMatch(
      /^process memory 16\.24 GiB, above available host memory \(16\.20 GiB\)$/,
    );
  });

  it('checks a GPU’s per-tensor binding and its free memory, not host RAM for tensors', () => {
    const gpu = { gpu: true, software: false, maxBufferBytes: 256 * MiB };
    const limits = limitsOf('webgpu', gpu, host, { env: {}, deviceFreeBytes: 2 * GiB });
    const problems = fitProblems(needs(40), limits);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/tensors at peak 40\.00 GiB, above free GPU memory/);
    expect(problems[1]).toMatch(
      /largest tensor 512\.0 MiB, above the WebGPU device's largest buffer binding \(256\.0 MiB\)/,
    );
    // A software adapter (SwiftShader) keeps its buffers in host memory.
    const software = limitsOf('webgpu', { ...gpu, software: true }, host, { env: {} });
    expect(fitProblems(needs(17, { largestTensorBytes: 1 }), software)[0]).toMatch(
      /process memory/,
    );
  });

  it('WHETSTONE_MEMORY_LIMIT_BYTES lowers the tensor ceiling of every backend, never raises it', () => {
    const env = { WHETSTONE_MEMORY_LIMIT_BYTES: String(GiB) };
    expect(memoryLimitOverride(env)).toBe(GiB);
    expect(memoryLimitOverride({ WHETSTONE_MEMORY_LIMIT_BYTES: 'lots' })).toBeUndefined();
    expect(limitsOf('cpu', cpu, host, { env }).live).toEqual({
      bytes: GiB,
      what: 'WHETSTONE_MEMORY_LIMIT_BYTES',
    });
    const high = { WHETSTONE_MEMORY_LIMIT_BYTES: String(64 * GiB) };
    expect(limitsOf('wasm', wasm, host, { env: high }).live?.what).toBe('the wasm heap');
  });

  it('knows host backends without starting them, and GPUs not at all', () => {
    expect(staticLimitsOf('wasm', host, {})?.live?.bytes).toBe(WASM_HEAP_MAX_BYTES);
    expect(staticLimitsOf('cpu', host, {})?.live).toBeUndefined();
    expect(staticLimitsOf('webgpu', host, {})).toBeUndefined();
  });

  it('says the estimate, the limit and what would fit', () => {
    const limits = limitsOf('wasm', wasm, host, { env: {} });
    const { message, hint } = refusalMessage(
      needs(4.21),
      limits,
      fitProblems(needs(4.21), limits),
      [
        '--backend cpu (available host memory, 16.20 GiB)',
        '--method zo-sgd (MeZO) (about 2.10 GiB)',
      ],
    );
    expect(message).toBe(
      'lomo training (batch 1 × 128 tokens) does not fit the wasm backend: the estimate needs tensors at peak 4.21 GiB, above the wasm heap (4.00 GiB). Would fit: --backend cpu (available host memory, 16.20 GiB); --method zo-sgd (MeZO) (about 2.10 GiB).',
    );
    expect(hint).toMatch(/--backend cpu/);
  });

  it('reads MemAvailable from /proc/meminfo', () => {
    const text = 'MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   21000000 kB\n';
    expect(parseMemAvailable(text)).toBe(21000000 * 1024);
    expect(parseMemAvailable('MemTotal: 1 kB\n')).toBeUndefined();
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});
