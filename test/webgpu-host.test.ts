// The desktop app's WebGPU host, in Node: which host a platform gets, and the fallback that runs
// a job again elsewhere when Dawn cannot start WebGPU in the first process. Electron itself is
// not installable here, so both processes are Node engine processes: the first is given a Vulkan
// driver list that does not exist (Dawn finds no adapter), the second this machine's adapter.
import { describe, expect, it } from 'vitest';
import { EngineJob } from '../main/hosting/engine-job.js';
import type { EngineLauncher } from '../main/hosting/engine-process.js';
import { forkEngine } from '../main/hosting/node-process.js';
import {
  dawnAddonPath,
  isWebGpuStartFailure,
  webgpuHost,
  withFallback,
} from '../main/hosting/webgpu-host.js';
import { webgpuAvailability } from './webgpu.js';

const webgpu = await webgpuAvailability();

describe('webgpu host', () => {
  it('is the utility process where the platform has a dawn.node, else the window', () => {
    expect(dawnAddonPath('linux', 'x64')).toMatch(/webgpu[/\\]dist[/\\]linux-x64[/\\]dawn\.node$/);
    expect(dawnAddonPath('darwin', 'arm64')).toMatch(/darwin-universal[/\\]dawn\.node$/);
    expect(webgpuHost({}, dawnAddonPath('linux', 'x64'))).toBe('utility');
    expect(webgpuHost({}, '/nowhere/dawn.node')).toBe('window');
    expect(webgpuHost({ WHETSTONE_WEBGPU_HOST: 'window' }, dawnAddonPath())).toBe('window');
    expect(webgpuHost({ WHETSTONE_WEBGPU_HOST: 'utility' }, '/nowhere/dawn.node')).toBe('utility');
  });

  it('tells a WebGPU start failure from a job that failed', () => {
    const start = 'The webgpu backend is unavailable: no WebGPU adapter';
    expect(isWebGpuStartFailure({ type: 'error', code: 'BACKEND_UNAVAILABLE', message: start })).toBe(true);
    expect(isWebGpuStartFailure({ type: 'error', code: 'DEVICE_LIMIT', message: 'too big' })).toBe(false);
  }); // prettier-ignore

  it.skipIf(!webgpu.available)(
    `runs the job in the fallback when WebGPU does not start in the first process ${webgpu.note}`,
    async () => {
      const launched: string[] = [];
      const noAdapter: EngineLauncher = (env, job) => {
        launched.push('primary');
        return forkEngine({ ...env, VK_ICD_FILENAMES: '/nonexistent/icd.json' }, job);
      };
      const fallback: EngineLauncher = (env, job) => {
        launched.push('fallback');
        return forkEngine(env, job);
      };
      const events: string[] = [];
      const final = await new EngineJob(withFallback(noAdapter, fallback)).run(
        { kind: 'backends', backend: 'webgpu' },
        { onEvents: (batch) => events.push(...batch.map((e) => e.type)) },
      );
      expect(launched).toEqual(['primary', 'fallback']);
      expect(final).toMatchObject({ type: 'done', job: 'backends', backend: 'webgpu' });
      expect(events.filter((t) => t === 'error')).toEqual([]); // the first failure is not seen
      // Without a failure, the fallback is never started.
      launched.length = 0;
      const direct = await new EngineJob(withFallback(fallback, noAdapter)).run({
        kind: 'backends',
        backend: 'webgpu',
      });
      expect(direct).toMatchObject({ type: 'done', backend: 'webgpu' });
      expect(launched).toEqual(['fallback']);
      // A first process that dies before its engine starts (here: Node cannot even load it).
      launched.length = 0;
      const dies: EngineLauncher = (env, job) => {
        launched.push('primary');
        return forkEngine({ ...env, NODE_OPTIONS: '--require /nonexistent/preload.cjs' }, job);
      };
      const rescued = await new EngineJob(withFallback(dies, fallback)).run({
        kind: 'backends',
        backend: 'webgpu',
      });
      expect(rescued).toMatchObject({ type: 'done', backend: 'webgpu' });
      expect(launched).toEqual(['primary', 'fallback']);
    },
  );
});
