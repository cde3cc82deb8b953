// Every training method gives the cpu reference's losses on the native backend within 1e-4: the
// backprop family (clipped), the zeroth-order family and Forward-Grad (the noise kernel), and
// each PEFT kind (LoRA, QLoRA's NF4 kernel, AdaLoRA, prefix and prompt tuning).
import { beforeAll, describe, expect, it } from 'vitest';
import { methodNames } from '../common/methods.js';
import { nativeAvailability } from '../engine/backend/native/availability.js';
import { lossBench } from './backend-losses.js';

// The engines it starts recycle every buffer, however small, so the pool is exercised too.
process.env.WHETSTONE_NATIVE_POOL_MIN_BYTES = '0';
const native = nativeAvailability();
let losses: Awaited<ReturnType<typeof lossBench>>;

beforeAll(async () => {
  losses = await lossBench('whetstone-train-native-');
});

const cases: [string, string[]][] = [
  ...methodNames.map((m): [string, string[]] => [m, []]),
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
