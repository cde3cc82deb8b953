// Two short training steps of the qwen2 fixture on a named backend, for the tests that compare
// backends' losses (training-backends, training-native): the same run on each, only --backend
// differs. Backprop methods are clipped, so clipping is compared too.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isZerothOrder } from '../engine/protocol.js';
import { lossesOf, runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

/** A folder with a three-line dataset; each call's runs go into it. */
export async function lossBench(prefix: string) {
  const work = await mkdtemp(join(tmpdir(), prefix));
  const data = join(work, 'texts.jsonl');
  const texts = [
    'The stone is flat and the blade is sharp.',
    'Water keeps the stone clean.',
    'Hold the blade at a steady angle.',
  ];
  await writeFile(data, `${texts.map((text) => JSON.stringify({ text })).join('\n')}\n`);
  let runs = 0;
  /** The two steps' losses of `method` on `backend`, with `extra` flags (a --peft kind). */
  return async (method: string, backend: string, extra: string[] = []): Promise<number[]> => {
    const options = isZerothOrder(method)
      ? ['--lr', '1e-3']
      : ['--lr', '0.05', '--max-grad-norm', '0.5'];
    const run = await runCli([
      'train', '--model', fixturePath('qwen2'), '--data', data, '--method', method,
      '--steps', '2', '--batch', '2', '--seq', '16', ...options, ...extra,
      '--schedule', 'constant', '--backend', backend,
      '--out', join(work, `${method}-${backend}-${++runs}`), '--json',
    ]); // prettier-ignore
    expect(run.last, run.stderr).toMatchObject({ type: 'done' });
    return lossesOf(run);
  };
}
