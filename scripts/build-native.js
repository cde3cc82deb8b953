#!/usr/bin/env node
// Builds the native CPU backend's addon (native/src → native/build/whetstone-native.node) with the
// system's C++ compiler, Node's own headers and the platform BLAS: OpenBLAS (Debian:
// libopenblas-dev) on Linux, Accelerate on macOS. Nothing is downloaded. When something is
// missing the install still succeeds: the reason goes to native/build/unavailable.txt, which
// `whetstone backends` reports, and the engine falls back to wasm.
//   npm run build:native            (also runs at npm install)
//   WHETSTONE_NATIVE_PORTABLE=1     build for any x86-64-v2 CPU, not just this one (packaging)
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'src');
const out = join(root, 'native', 'build');
const target = join(out, 'whetstone-native.node');
const note = join(out, 'unavailable.txt');

function fail(reason) {
  mkdirSync(out, { recursive: true });
  rmSync(target, { force: true });
  writeFileSync(note, `${reason}\n`);
  console.warn(`whetstone: native backend not built: ${reason}`);
  process.exit(0);
}

/** The first folder holding node_api.h: Node's own install, then a distribution's. */
function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

if (process.env.WHETSTONE_SKIP_NATIVE === '1') fail('WHETSTONE_SKIP_NATIVE=1 was set at install');
if (process.platform === 'win32') fail('building on Windows is not supported yet');
const cxx = process.env.CXX ?? 'c++';
if (spawnSync(cxx, ['--version']).status !== 0)
  fail(`no C++ compiler (${cxx}); install g++ (Debian: apt-get install g++) or Xcode's tools`);
const headers = nodeHeaders();
if (!headers)
  fail("Node's headers (node_api.h) were not found; install nodejs headers (Debian: libnode-dev)");
let addonApi;
try {
  addonApi = dirname(createRequire(import.meta.url).resolve('node-addon-api/package.json'));
} catch {
  fail('the node-addon-api package is not installed');
}

const sources = readdirSync(src)
  .filter((f) => f.endsWith('.cc'))
  .map((f) => join(src, f));
const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
if (existsSync(target) && statSync(target).mtimeMs > newest && process.argv[2] !== '--force') {
  console.log(`whetstone: native addon up to date (${target})`);
  process.exit(0);
}

const mac = process.platform === 'darwin';
const arch =
  process.env.WHETSTONE_NATIVE_PORTABLE === '1' ? ['-march=x86-64-v2'] : ['-march=native'];
const args = [
  '-std=c++17',
  '-O3',
  ...(process.arch === 'x64' || process.arch === 'arm64'
    ? mac && process.arch === 'arm64'
      ? []
      : arch
    : []),
  // No fused multiply-add contraction: the noise kernel must match its JS reference bit for bit.
  '-ffp-contract=off',
  // Lets GCC vectorise the noise kernel's sqrt (errno is never read).
  '-fno-math-errno',
  '-fPIC',
  '-shared',
  '-pthread',
  '-fvisibility=hidden',
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  `-I${headers}`,
  `-I${addonApi}`,
  ...sources,
  ...(mac ? ['-undefined', 'dynamic_lookup', '-framework', 'Accelerate'] : ['-lopenblas']),
  '-o',
  `${target}.tmp`,
];
if (
  !mac &&
  !existsSync('/usr/include/cblas.h') &&
  !existsSync(`/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/cblas.h`)
)
  fail('no CBLAS header; install OpenBLAS (Debian: apt-get install libopenblas-dev)');

mkdirSync(out, { recursive: true });
console.log(`whetstone: building the native addon (${sources.length} files)...`);
try {
  execFileSync(cxx, args, { stdio: ['ignore', 'inherit', 'pipe'] });
} catch (err) {
  const stderr = String(err.stderr ?? '')
    .trim()
    .split('\n')
    .slice(0, 8)
    .join('\n');
  fail(`the compiler failed: ${stderr || err.message}`);
}
renameSync(`${target}.tmp`, target);
rmSync(note, { force: true });
console.log(`whetstone: built ${target}`);
