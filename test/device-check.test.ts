// `npm run device-check` end to end on this machine's adapter (SwiftShader here) in its quick
// software mode: one case per section, so the suite proves the script and its report, not a GPU.
// The full check (every method, the 0.5B preset) is for a machine with a GPU (docs/gpu.md).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuAvailability } from './webgpu.js';

/** The report's shape as far as this test reads it (bench/device-check/report.ts). */
interface DeviceReport {
  mode: string;
  adapter?: Record<string, unknown>;
  sections: Record<string, { status: string; reason?: string; rows?: Record<string, unknown>[] }>;
}

const webgpu = await webgpuAvailability();
const script = join(import.meta.dirname, '..', 'dist', 'bench', 'device-check', 'run.js');
const out = await mkdtemp(join(tmpdir(), 'whetstone-device-check-'));
afterAll(() => rm(out, { recursive: true, force: true }));

describe.skipIf(!webgpu.available)(`device check ${webgpu.note}`, () => {
  it('refuses a bare OUT_DIR-less call with its usage', async () => {
    const failed = await promisify(execFile)(process.execPath, [script]).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toMatch(
      /^usage: npm run device-check -- OUT_DIR/,
    );
  });

  it('runs every section on a software adapter and writes the JSON report and the table', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [script, out, '--allow-software', '--quick'],
      // Debian's python3-torch, as the reference tests use (a python3 earlier on PATH may lack it).
      {
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, WHETSTONE_PYTHON: '/usr/bin/python3' },
      },
    ); // exit code 0: no section failed
    const report = JSON.parse(
      await readFile(join(out, 'device-check.json'), 'utf8'),
    ) as DeviceReport;
    expect(report.mode).toBe('software');
    expect(report.adapter).toMatchObject({ software: true });
    const info = report.adapter!.info as { limits: Record<string, number>; features: string[] };
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    const s = report.sections;
    expect(s['op cases (webgpu vs cpu)']!.status).toBe('pass');
    expect(s['op cases (webgpu vs cpu)']!.rows!.length).toBeGreaterThan(50);
    expect(s['training agreement (webgpu vs cpu, 2 steps)']!.status).toBe('pass');
    expect(s.matmul!.rows![0]!.n).toBe(128);
    expect(s.matmul!.rows![0]!.tflops).toBeGreaterThan(0);
    expect(s.forward!.rows![0]!.tokensPerSec).toBeGreaterThan(0);
    const steps = s['training step per method']!;
    expect(steps.status).toBe('measured');
    expect(steps.rows!.map((r) => `${String(r.method)}/${String(r.peft)}`)).toEqual([
      'fo-adamw/lora',
    ]);
    // The measured peak against the estimate (docs/memory.md holds it within 10% on the test
    // shapes; looser here, on the check's own tiny ones).
    for (const row of steps.rows!) {
      expect(row.peakOverEstimate).toBeGreaterThan(0.75);
      expect(row.peakOverEstimate).toBeLessThan(1.25);
    }
    // What Python cannot do here is skipped with the reason, never silently.
    for (const name of ['PyTorch side by side', 'transformers/PEFT judge', 'NF4 vs bitsandbytes']) {
      const section = s[name]!;
      expect(['pass', 'measured', 'skipped']).toContain(section.status);
      if (section.status === 'skipped') expect(section.reason).toMatch(/\w/);
    }
    if (process.env.WHETSTONE_REQUIRE_TORCH === '1')
      expect(s['PyTorch side by side']!.status).toBe('measured');
    const table = await readFile(join(out, 'README.md'), 'utf8');
    expect(table).toBe(stdout);
    expect(table).toMatch(/^# Whetstone device check\n/);
    expect(table).toMatch(/\| fo-adamw \| lora \|/);
  });
});
