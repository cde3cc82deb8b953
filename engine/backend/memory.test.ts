import { beforeAll, describe, expect, it } from 'vitest';
import { memory, parseNvidiaSmi, sampleMemory } from './memory.js';
import { initBackend } from './select.js';
import { tf } from './tf.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('memory accounting', () => {
  it('live bytes follow every allocation and release exactly', () => {
    const before = memory.liveBytes;
    const a = tf.zeros([1000]); // 4000 bytes
    const b = tf.zeros([10, 10], 'int32'); // 400 bytes
    expect(memory.liveBytes - before).toBe(4400);
    a.dispose();
    expect(memory.liveBytes - before).toBe(400);
    b.dispose();
    expect(memory.liveBytes).toBe(before);
    expect(memory.liveBytes).toBe(tf.memory().numBytes);
  });

  it('handles sharing a buffer (reshape, clone, variables) cost nothing more', () => {
    const before = memory.liveBytes;
    const a = tf.zeros([64, 64]); // 16 KiB
    const views = [tf.reshape(a, [4096]), tf.clone(a), tf.reshape(a, [16, 256])];
    const v = tf.variable(a, false);
    expect(memory.liveBytes - before).toBe(16384);
    expect(tf.memory().numBytes).toBeGreaterThan(memory.liveBytes); // tfjs counts each handle
    a.dispose();
    views.forEach((t) => t.dispose());
    expect(memory.liveBytes - before).toBe(16384); // the variable still holds the buffer
    v.dispose();
    expect(memory.liveBytes).toBe(before);
  });

  it('the peak sees intermediates freed inside tidy, and restarts per phase', async () => {
    memory.resetPeak();
    const base = memory.liveBytes;
    const out = tf.tidy(() => {
      const big = tf.ones([4096]); // 16 KiB, freed when tidy ends
      return tf.sum(big);
    });
    expect(memory.peakBytes - base).toBeGreaterThanOrEqual(16384 + 4);
    expect(memory.liveBytes - base).toBe(4);
    memory.resetPeak();
    expect(memory.peakBytes).toBe(memory.liveBytes);

    const { extraBytes, result } = await memory.measure(() => {
      const t = tf.zeros([256]);
      t.dispose();
      return 7;
    });
    expect(result).toBe(7);
    expect(extraBytes).toBe(1024);
    out.dispose();
  });

  it('samples process RSS, and no device figures on cpu', async () => {
    const sample = await sampleMemory();
    expect(sample.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample.device.source).toBe('none');
  });

  it('reads nvidia-smi answers in MiB, for this process only', () => {
    const MiB = 1024 * 1024;
    const device = parseNvidiaSmi(['81559, 80000'], ['123, 500', '456, 1200'], 456);
    expect(device).toEqual({
      source: 'nvidia-smi',
      usedBytes: 1200 * MiB,
      totalBytes: 81559 * MiB,
      freeBytes: 80000 * MiB,
    });
    expect(parseNvidiaSmi(['[N/A], [N/A]'], [], 1)).toEqual({
      source: 'nvidia-smi',
      usedBytes: 0,
      totalBytes: undefined,
      freeBytes: undefined,
    });
  });
});
