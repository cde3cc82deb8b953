// The studio starts each method with the learning rate and μ the engine would pick for it and for
// what trains (both read common/defaults.ts), so the numbers a user sees are the ones a CLI run
// without --lr/--zo-eps takes.
import { describe, expect, it } from 'vitest';
import { defaultLr, defaultZoEps } from '../../../common/defaults.js';
import { useMethods } from './methods-store.js';

describe('method defaults', () => {
  it('zeroth-order on adapters takes MeZO’s PEFT settings; FO-AdamW PEFT’s guides’ for prompts', () => {
    expect(defaultLr('zo-sgd', 'full')).toBe(1e-6);
    expect(defaultLr('zo-sgd', 'lora')).toBeCloseTo(5e-5, 12);
    expect(defaultZoEps('lora')).toBe(1e-2);
    expect(defaultLr('zo-sgd', 'prefix')).toBeCloseTo(1e-2, 12);
    expect(defaultZoEps('prefix')).toBe(1e-1);
    expect(defaultLr('fo-adamw', 'lora')).toBe(defaultLr('fo-adamw', 'full'));
    expect(defaultLr('fo-adamw', 'prompt')).toBe(3e-2);
    expect(defaultLr('fo-sgd', 'prompt')).toBe(defaultLr('fo-sgd', 'full'));
  });

  it('picking a kind or a method resets the rate and μ to their defaults', () => {
    const s = useMethods.getState();
    s.choose('zo-sgd');
    s.choosePeft('prompt');
    expect(useMethods.getState().settings).toMatchObject({ lr: 1e-2, zoEps: 0.1 });
    useMethods.getState().choose('fo-adamw');
    expect(useMethods.getState().settings.lr).toBe(3e-2);
    useMethods.getState().choosePeft('full');
    useMethods.getState().choose('zo-sgd');
    expect(useMethods.getState().settings).toMatchObject({ lr: 1e-6, zoEps: 1e-3 });
  });
});
