// An engine that ends before its job becomes a coded error with a plain-language hint.
import { describe, expect, it } from 'vitest';
import { exitError } from './exit-error.js';
import { classifyNodeExit } from './node-process.js';

describe('engine exits', () => {
  it('classifies Node exits by signal, code and what stderr said', () => {
    expect(classifyNodeExit(0, null, '')).toBe('clean-exit');
    expect(classifyNodeExit(null, 'SIGKILL', '')).toBe('killed');
    expect(classifyNodeExit(null, 'SIGSEGV', '')).toBe('crashed');
    expect(classifyNodeExit(1, null, '')).toBe('abnormal-exit');
    const v8 = 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory';
    expect(classifyNodeExit(134, null, v8)).toBe('oom');
  });

  it('says what happened and what to do, naming the checkpoint to resume from', () => {
    const oom = exitError({ code: 134, reason: 'oom', stderrTail: '' }, 40);
    expect(oom.code).toBe('ENGINE_OOM');
    expect(oom.hint).toMatch(/smaller batch/);
    expect(oom.hint).toMatch(/QLoRA/);
    expect(oom.hint).toMatch(/zeroth-order/);
    expect(oom.hint).toMatch(/checkpoint at step 40/);
    const killed = exitError(
      { code: null, signal: 'SIGKILL', reason: 'killed', stderrTail: '' },
      0,
    );
    expect(killed).toMatchObject({ code: 'ENGINE_CRASHED' });
    expect(killed.message).toMatch(/SIGKILL/);
    expect(killed.hint).toMatch(/no checkpoint yet/);
    const crash = exitError({ code: 3, reason: 'crashed', stderrTail: 'x\nSegfault in op\n\n' });
    expect(crash.message).toMatch(/Segfault in op/);
  });
});
