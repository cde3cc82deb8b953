// A recorded engine pid counts as alive only while that process exists and looks like an engine.
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { engineAlive } from './process-alive.js';

describe('engineAlive', () => {
  it('is true for a running engine and false once it is gone or for another program', async () => {
    // An idle Node process whose command line names the engine entry, as a forked engine's does.
    const engine = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'host/child.js']);
    try {
      await new Promise((resolve) => engine.once('spawn', resolve));
      expect(await engineAlive(engine.pid!)).toBe(true);
      if (process.platform === 'linux') expect(await engineAlive(process.pid)).toBe(false);
    } finally {
      engine.kill('SIGKILL');
    }
    await new Promise((resolve) => engine.once('exit', resolve));
    expect(await engineAlive(engine.pid!)).toBe(false);
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    expect(await engineAlive(gone)).toBe(false);
  });
});
