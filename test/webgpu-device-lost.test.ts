// A WebGPU device lost in the middle of a run (as a driver reset would do it: the device is
// destroyed from outside the engine, right after the checkpoint of step 2): step 3 fails with
// DEVICE_LOST and a hint, no checkpoint is written from the lost device, and the message names
// the one that is kept. In-process, on this machine's adapter (SwiftShader here).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { runJob } from '../engine/jobs/run-job.js';
import { setLogSink } from '../engine/log.js';
import type { EngineEvent } from '../engine/protocol.js';
import { latestCheckpoint } from '../engine/train/checkpoint.js';
import { fixturePath, sharpeningSentences } from './fixtures.js';
import { webgpuAvailability } from './webgpu.js';

const webgpu = await webgpuAvailability();
const dir = await mkdtemp(join(tmpdir(), 'whetstone-device-lost-'));
afterAll(async () => {
  await releaseBackend();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!webgpu.available)(`a lost WebGPU device ${webgpu.note}`, () => {
  it('fails the run at the next step and keeps the last checkpoint', async () => {
    const data = join(dir, 'data.jsonl');
    await writeFile(data, sharpeningSentences.map((text) => JSON.stringify({ text })).join('\n'));
    const out = join(dir, 'run');
    const events: EngineEvent[] = [];
    setLogSink(() => undefined);
    const ok = await runJob(
      {
        kind: 'train', model: fixturePath('llama'), data, method: 'fo-adamw', steps: 4,
        batch: 2, seq: 16, checkpointEvery: 1, backend: 'webgpu', out,
      }, // prettier-ignore
      (event) => {
        events.push(event);
        if (event.type === 'checkpoint' && event.step === 2)
          (tf.backend() as unknown as { device: GPUDevice }).device.destroy();
      },
    );
    expect(ok).toBe(false);
    const error = events.at(-1)!;
    expect(error).toMatchObject({ type: 'error', code: 'DEVICE_LOST' });
    if (error.type !== 'error') throw new Error('unreachable');
    expect(error.message).toMatch(
      /^Step 3 failed: The WebGPU device was lost \(destroyed.*The checkpoint of step 2 is intact\.$/s,
    );
    expect(error.hint).toMatch(/whetstone resume/);
    expect(
      events.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step),
    ).toEqual([1, 2]);
    const kept = await latestCheckpoint(join(out, 'checkpoints'));
    expect(kept?.state.step).toBe(2);
  });
});
