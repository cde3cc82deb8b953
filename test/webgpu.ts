// Whether this machine has a WebGPU adapter for tests (Debian's chromium ships SwiftShader).
// CI sets WHETSTONE_REQUIRE_WEBGPU=1, so a missing adapter fails there instead of skipping.
import { runCli } from './cli.js';

export async function webgpuAvailability(): Promise<{ available: boolean; note: string }> {
  const run = await runCli(['backends', '--backend', 'webgpu', '--json']);
  const available = run.last.type === 'done';
  const message = run.last.message;
  const reason = available ? '' : typeof message === 'string' ? message : run.stderr;
  if (!available && process.env.WHETSTONE_REQUIRE_WEBGPU === '1') {
    throw new Error(`WebGPU is required (WHETSTONE_REQUIRE_WEBGPU=1) but unavailable: ${reason}`);
  }
  return { available, note: available ? '' : `(skipped: ${reason})` };
}
