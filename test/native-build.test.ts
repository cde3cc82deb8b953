// Without a compiler (or BLAS) the install still succeeds: scripts/build-native.js exits 0 and
// leaves the reason, which `whetstone backends` then gives for skipping native.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const root = join(import.meta.dirname, '..');

describe('building the native addon where it cannot be built', () => {
  it('installs anyway, and says why native is skipped', async () => {
    // A copy of the project's build inputs, so the real addon is untouched.
    const copy = mkdtempSync(join(tmpdir(), 'whetstone-native-build-'));
    cpSync(join(root, 'scripts', 'build-native.js'), join(copy, 'scripts', 'build-native.js'));
    cpSync(join(root, 'native', 'src'), join(copy, 'native', 'src'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    execFileSync(process.execPath, [join(copy, 'scripts', 'build-native.js')], {
      env: { ...process.env, CXX: '/bin/false' },
      stdio: 'pipe',
    });
    const build = join(copy, 'native', 'build');
    expect(readFileSync(join(build, 'unavailable.txt'), 'utf8')).toMatch(/no C\+\+ compiler/);

    const run = await runCli(['backends', '--json'], { WHETSTONE_NATIVE_DIR: build });
    const skipped = (run.last.skipped ?? []) as { backend: string; reason: string }[];
    expect(skipped.find((s) => s.backend === 'native')?.reason).toMatch(
      /the native addon is not built \(no C\+\+ compiler/,
    );
  });
});
