// `npm run device-bundle` as a GPU machine would meet it: the tarball is unpacked into an empty
// folder and its run.sh does the quick software check with nothing of this project around (no
// node_modules, no dist, a bare environment), so what the bundle carries is all it has.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuAvailability } from './webgpu.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const webgpu = await webgpuAvailability();
const linux = process.platform === 'linux' && process.arch === 'x64';
const work = await mkdtemp(join(tmpdir(), 'whetstone-device-bundle-'));
afterAll(() => rm(work, { recursive: true, force: true }));

describe.skipIf(!webgpu.available || !linux)(`device bundle ${webgpu.note}`, () => {
  it('unpacks into an empty folder and runs the check from there alone', async () => {
    const built = join(work, 'built');
    await run(process.execPath, [join(root, 'scripts', 'device-bundle.js'), built], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = join(built, 'whetstone-device.tar.xz');
    expect((await stat(tarball)).size).toBeLessThan(64 * 1024 * 1024);
    const there = join(work, 'there');
    await run('mkdir', ['-p', there]);
    await run('tar', ['-xf', tarball, '-C', there]);
    const out = join(work, 'report');
    const { stdout } = await run(
      join(there, 'whetstone-device', 'run.sh'),
      [out, '--allow-software', '--quick'],
      {
        cwd: there,
        // Nothing inherited but the system's tools and the software Vulkan driver.
        env: {
          PATH: '/usr/bin:/bin',
          HOME: work,
          ...(process.env.VK_ICD_FILENAMES && { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES }),
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const report = JSON.parse(await readFile(join(out, 'device-check.json'), 'utf8')) as {
      mode: string;
      sections: Record<string, { status: string }>;
    };
    expect(report.mode).toBe('software');
    expect(report.sections['op cases (webgpu vs cpu)']!.status).toBe('pass');
    expect(report.sections['training step per method']!.status).toBe('measured');
    expect(await readFile(join(out, 'README.md'), 'utf8')).toBe(stdout);
  }, 600_000);
});
