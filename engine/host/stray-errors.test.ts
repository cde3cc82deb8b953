// A wasm trap thrown outside any await (issue 14: exit code 7, no error event) ends the job with
// an ENGINE_OOM error event and exit code 1, in a real process with the wasm backend started.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = join(import.meta.dirname, '..', '..', 'dist', 'engine');
const url = (p: string) => pathToFileURL(join(dist, p)).href;

function runScript(handled: boolean): Promise<{ code: number; stdout: string }> {
  const script = `
    const { startWasm } = await import(${JSON.stringify(url('backend/wasm.js'))});
    const { handleStrayErrors } = await import(${JSON.stringify(url('host/stray-errors.js'))});
    const { assertBackendUsable } = await import(${JSON.stringify(url('backend/heap-fault.js'))});
    await startWasm();
    ${handled ? '' : "process.on('uncaughtException', (e) => { throw e; });"}
    handleStrayErrors(
      (info) => {
        process.stdout.write(JSON.stringify({ type: 'error', ...info }) + '\\n');
        try { assertBackendUsable(); } catch (e) { process.stdout.write(JSON.stringify({ reuse: e.code }) + '\\n'); }
      },
      (code) => process.exit(code),
    );
    setTimeout(() => { throw new WebAssembly.RuntimeError('memory access out of bounds'); }, 10);
    setTimeout(() => process.stdout.write('{"type":"step"}\\n'), 500);
  `;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout });
    });
  });
}

describe('stray errors in an engine process', () => {
  it('end the job with an error event and exit code 1, and no step runs afterwards', async () => {
    const run = await runScript(true);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'error', code: 'ENGINE_OOM' });
    expect(lines[0]!.hint).toMatch(/--backend cpu/);
    expect(lines[1]).toEqual({ reuse: 'ENGINE_CRASHED' });
    expect(lines).toHaveLength(2);
    expect(run.code).toBe(1);
  });

  it('a handler that rethrows (what emscripten installs) is what gave exit code 7', async () => {
    const run = await runScript(false);
    expect(run.code).toBe(7);
    expect(run.stdout).toBe('');
  });
});
