#!/usr/bin/env node
// `npm start`: opens the desktop app. Electron's binary is fetched on first start (npm's
// install-script policy blocks the download during `npm install`); without it — or offline —
// this says so and shows what the engine can do from the terminal instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function electronBinary() {
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return undefined;
  }
  const pathFile = join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) {
    console.log('Fetching the Electron binary (first start)…');
    const fetch = spawnSync(process.execPath, [join(pkgDir, 'install.js')], { encoding: 'utf8' });
    const reason = `${fetch.stderr ?? ''}`.split('\n').find((line) => line.trim() !== '');
    if (fetch.status !== 0 && reason) console.log(`Could not fetch it: ${reason.trim()}`);
  }
  if (!existsSync(pathFile)) return undefined;
  const binary = join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : undefined;
}

if (!existsSync(join(root, 'dist', 'main', 'main.js'))) {
  spawnSync('npm', ['run', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
}

const electron = electronBinary();
if (electron) {
  const { status } = spawnSync(electron, [root], { stdio: 'inherit' });
  process.exit(status ?? 1);
}

console.log(
  [
    'The Electron binary is not available (no network to fetch it, or the optional install was skipped).',
    'The engine works without it; here is what it finds on this machine:',
    '',
  ].join('\n'),
);
const { status } = spawnSync(process.execPath, [join(root, 'bin', 'whetstone.js'), 'backends'], {
  stdio: 'inherit',
});
console.log(
  '\nTry: npx whetstone fixture --arch llama --out /tmp/tiny-llama && npx whetstone generate --model /tmp/tiny-llama --prompt "Hello"',
);
process.exit(status ?? 1);
