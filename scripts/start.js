#!/usr/bin/env node
// `npm start`: opens the desktop app. Electron's binary is fetched on first start (npm's
// install-script policy blocks the download during `npm install`); without it — or offline —
// this says so and starts web mode (`whetstone serve`) instead, printing the address to open.
import { spawn, spawnSync } from 'node:child_process';
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

const built = ['dist/main/main.js', 'dist/main/serve/serve-cli.js', 'dist/renderer/index.html'];
if (!built.every((file) => existsSync(join(root, file)))) {
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
    'The Electron binary is not available (no network to fetch it, or the optional install was skipped),',
    'so Whetstone starts in web mode: open the address below in a browser. Ctrl-C stops it.',
    '',
  ].join('\n'),
);
// Extra arguments pass through: `npm start -- --port 8080`.
const serve = spawn(
  process.execPath,
  [join(root, 'bin', 'whetstone.js'), 'serve', ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
// Ctrl-C reaches the server through the terminal's process group; it checkpoints running jobs.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => serve.kill('SIGTERM'));
serve.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
