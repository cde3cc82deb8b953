// The host interface's helpers: which engine a job needs, where the entry is, the stderr tail.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { engineEntry, engineEnv, TailBuffer, wantsWebGpu } from './engine-process.js';

describe('engine process helpers', () => {
  it('sends WebGPU jobs to the window host, by the job or by WHETSTONE_BACKEND', () => {
    expect(wantsWebGpu({ kind: 'train', backend: 'webgpu' }, {})).toBe(true);
    expect(wantsWebGpu({ kind: 'train', backend: 'wasm' }, { WHETSTONE_BACKEND: 'webgpu' })).toBe(
      false,
    );
    expect(wantsWebGpu({ kind: 'train' }, { WHETSTONE_BACKEND: 'webgpu' })).toBe(true);
    expect(wantsWebGpu({ kind: 'train' }, {})).toBe(false);
    expect(wantsWebGpu(null, {})).toBe(false);
  });

  it('finds the built engine entry and lets the GPU allocator grow', () => {
    expect(engineEntry()).toMatch(/dist[\\/]engine[\\/]host[\\/]child\.js$/);
    expect(existsSync(engineEntry())).toBe(true);
    expect(engineEnv({ A: '1' })).toMatchObject({ TF_FORCE_GPU_ALLOW_GROWTH: 'true', A: '1' });
  });

  it('keeps only the end of a long stream', () => {
    const tail = new TailBuffer(8);
    tail.push('0123456789');
    tail.push('ab');
    expect(tail.toString()).toBe('456789ab');
  });
});
