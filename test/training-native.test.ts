// Every training method gives the cpu reference's losses on the native backend within 1e-4: the
// backprop family (clipped), the zeroth-order family and Forward-Grad (the noise kernel), and
// each PEFT kind (LoRA, QLoRA's NF4 kernel, AdaLoRA, prefix and prompt tuning).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeAvailability } from '../engine/backend/native/availability.js';
import { isZerothOrder } from '../engine/protocol.js';
import { runCli } from './cli.js';
import { fixturePath } from './fixtures.js';

// The engines it starts recycle every buffer, however small, so the pool is exercised too.
process.env.WHETSTONE_NATIVE_POOL_MIN_BYTES = '0';
const native = nativeAvailability();
let work: string;
let data: string;
let runs = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-train-native-'));
  data = join(work, 'texts.jsonl');
  const texts = [
    'The stone is flat and the blade is sharp.',
    'Water keeps the stone clean.',
    'Hold the blade at a steady angle.',
  ];
  await writeFile(data, `${texts.map((text) => JSON.stringify({ text })).join('\n')}\n`);
});

async function losses(method: string, backend: string, peft: string[]): Promise<number[]> {
  const options = isZerothOrder(method)
    ? ['--lr', '1e-3']
    : ['--lr', '0.05', '--max-grad-norm', '0.5'];
  const run = await runCli([
    'train',
    '--model',
    fixturePath('qwen2'),
    '--data',
    data,
    '--method',
    method,
    '--steps',
    '2',
    '--batch',
    '2',
    '--seq',
    '16',
    ...options,
    ...peft,
    '--schedule',
    'constant',
    '--backend',
    backend,
    '--out',
    join(work, `${method}-${backend}-${++runs}`),
    '--json',
  ]);
  expect(run.last, run.stderr).toMatchObject({ type: 'done' });
  return run.events.filter((e) => e.type === 'step').map((e) => e.loss as number);
}

const cases: [string, string[]][] = [
  ...[
    'fo-sgd',
    'fo-adamw',
    'lomo',
    'adalomo',
    'zo-sgd',
    'zo-sign',
    'zo-mmt',
    'zo-cons',
    'zo-adam',
    'forward-grad',
  ].map((m): [string, string[]] => [m, []]),
  ['fo-adamw', ['--peft', 'lora', '--lora-r', '4']],
  ['fo-adamw', ['--peft', 'qlora', '--lora-r', '4']],
  ['zo-sgd', ['--peft', 'qlora', '--lora-r', '4']],
  ['fo-adamw', ['--peft', 'adalora']],
  ['fo-adamw', ['--peft', 'prefix']],
  ['fo-adamw', ['--peft', 'prompt']],
];

describe.skipIf(!native.available)(`native backend training ${native.note}`, () => {
  it.each(cases)('%s %j gives the cpu losses', async (method, peft) => {
    const [cpu, got] = await Promise.all([
      losses(method, 'cpu', peft),
      losses(method, 'native', peft),
    ]);
    expect(got).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(Number.isFinite(got[i])).toBe(true);
      expect(Math.abs(got[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
    }
  });
});
