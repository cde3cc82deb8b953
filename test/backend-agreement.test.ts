// The same model gives the same logits on every backend: cpu is the reference; wasm and webgpu
// (SwiftShader here) must agree within 1e-4 relative. Runs the CLI, one process per backend.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { runCli } from './cli.js';
import { architectureFixtures, encoderFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';
import { webgpuAvailability } from './webgpu.js';

const work = mkdtempSync(join(tmpdir(), 'whetstone-agree-'));
const idsFile = join(work, 'ids.json');
writeFileSync(idsFile, JSON.stringify([tokenIds(40, 3), tokenIds(17, 4)]));

async function logitsOn(model: string, backend: string): Promise<Float32Array> {
  const out = join(work, `${model}-${backend}.safetensors`);
  const run = await runCli([
    'logits',
    '--model',
    fixturePath(model),
    '--ids',
    idsFile,
    '--out',
    out,
    '--backend',
    backend,
    '--json',
  ]);
  expect(run.last, run.stderr).toMatchObject({ type: 'done', job: 'logits' });
  const file = await SafetensorsFile.open(out);
  const { values } = await file.read('logits');
  await file.close();
  return values as Float32Array;
}

const webgpu = await webgpuAvailability();

describe.each([...architectureFixtures, ...encoderFixtures])('%s', (name) => {
  it('wasm matches cpu within 1e-4', async () => {
    const [cpu, wasm] = await Promise.all([logitsOn(name, 'cpu'), logitsOn(name, 'wasm')]);
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
  });

  it.skipIf(!webgpu.available)(`webgpu matches cpu within 1e-4 ${webgpu.note}`, async () => {
    const [cpu, gpu] = await Promise.all([logitsOn(name, 'cpu'), logitsOn(name, 'webgpu')]);
    expect(relativeError(gpu, cpu)).toBeLessThan(1e-4);
  });
});
