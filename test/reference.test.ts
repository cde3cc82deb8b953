// Logits checked against a second, independent implementation: test/reference/hf_reference.py
// runs each architecture in PyTorch (float64) from the same folder. Needs Debian's
// python3-torch (installed by .ci/run); CI sets WHETSTONE_REQUIRE_TORCH=1 so it cannot skip there.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { runCli } from './cli.js';
import { architectureFixtures, encoderFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

const python = '/usr/bin/python3';
const script = join(import.meta.dirname, 'reference', 'hf_reference.py');

function torchAvailable(): boolean {
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.WHETSTONE_REQUIRE_TORCH === '1')
      throw new Error(`${python} cannot import torch (apt-get install python3-torch)`);
    return false;
  }
}

async function read(file: string): Promise<Float32Array> {
  const f = await SafetensorsFile.open(file);
  const { values } = await f.read('logits');
  await f.close();
  return values as Float32Array;
}

const work = mkdtempSync(join(tmpdir(), 'whetstone-ref-'));
const idsFile = join(work, 'ids.json');
writeFileSync(idsFile, JSON.stringify([tokenIds(40, 21), tokenIds(9, 22)]));

describe.skipIf(!torchAvailable())('PyTorch reference', () => {
  it.each([...architectureFixtures, ...encoderFixtures, 'llama-sharded'] as const)(
    '%s logits match within 1e-4',
    async (name) => {
      const ours = join(work, `${name}-ours.safetensors`);
      const theirs = join(work, `${name}-torch.safetensors`);
      const [run] = await Promise.all([
        runCli([
          'logits',
          '--model',
          fixturePath(name),
          '--ids',
          idsFile,
          '--out',
          ours,
          '--backend',
          'cpu',
          '--json',
        ]),
        promisify(execFile)(python, [script, fixturePath(name), idsFile, theirs]),
      ]);
      expect(run.last, run.stderr).toMatchObject({ type: 'done' });
      expect(relativeError(await read(ours), await read(theirs))).toBeLessThan(1e-4);
    },
  );
});
