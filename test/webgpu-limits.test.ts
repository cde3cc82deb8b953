// A tensor above WebGPU's binding limit, through the CLI on this machine's adapter (SwiftShader
// here): the estimate's fit badge and a forced run judge it against the adapter's own limit, and
// a run whose largest tensor passes it is refused with DEVICE_LIMIT before anything is loaded,
// naming the tensor and the limit. The limit is lowered (WHETSTONE_WEBGPU_BINDING_LIMIT_BYTES) so
// the llama fixture's [512, 64] embedding, 128 KiB, is too large.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { fixturePath, sharpeningSentences } from './fixtures.js';
import { webgpuAvailability } from './webgpu.js';

const webgpu = await webgpuAvailability();
const LIMIT = { WHETSTONE_WEBGPU_BINDING_LIMIT_BYTES: String(96 * 1024) };
const settings = [
  '--model',
  fixturePath('llama'),
  '--method',
  'fo-adamw',
  '--batch',
  '2',
  '--seq',
  '16',
];

let dir: string;
let data: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whetstone-webgpu-limits-'));
  data = join(dir, 'data.jsonl');
  await writeFile(data, sharpeningSentences.map((text) => JSON.stringify({ text })).join('\n'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!webgpu.available)(`WebGPU binding limit ${webgpu.note}`, () => {
  it('the estimate judges webgpu by its adapter: fits at the real limit', async () => {
    const run = await runCli(['estimate', ...settings, '--backend', 'webgpu', '--json']);
    expect(run.last, run.stderr).toMatchObject({
      type: 'done',
      fit: { backend: 'webgpu', fits: true },
    });
  });

  it('names the tensor and the limit, in the estimate and in the refused run, before loading', async () => {
    const estimate = await runCli(
      ['estimate', ...settings, '--backend', 'webgpu', '--json'],
      LIMIT,
    );
    const fit = estimate.last.fit as Record<string, unknown>;
    expect(fit).toMatchObject({ backend: 'webgpu', fits: false, limitBytes: 96 * 1024 });
    expect(fit.message).toMatch(
      /^fo-adamw training \(batch 2 × 16 tokens\) does not fit the webgpu backend: the estimate needs its largest tensor \(model\.embed_tokens\.weight\) 128\.0 KiB, above the WebGPU device's largest buffer binding \(96\.0 KiB\)\./,
    );
    const out = join(dir, 'refused');
    const train = await runCli(
      [
        'train',
        ...settings,
        '--data',
        data,
        '--steps',
        '1',
        '--backend',
        'webgpu',
        '--out',
        out,
        '--json',
      ],
      LIMIT,
    );
    expect(train.code).toBe(1);
    expect(train.last).toMatchObject({ type: 'error', code: 'DEVICE_LIMIT' });
    // The same refusal (the free host memory it lists as an alternative moves between runs).
    const head = (m: unknown) => String(m).split(' Would fit:')[0];
    expect(head(train.last.message)).toBe(head(fit.message));
    expect(existsSync(out)).toBe(false); // refused before the run folder or any weight
  });
});
