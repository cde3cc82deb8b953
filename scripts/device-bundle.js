// `npm run device-bundle [-- OUT_DIR]`: the device check as a carried bundle, for a GPU machine
// with no Node and no network. Writes OUT_DIR/whetstone-device/ (default OUT_DIR:
// release/device-bundle) and OUT_DIR/whetstone-device.tar.xz:
//   node               this Node binary (process.execPath; official builds need only glibc)
//   whetstone.mjs      the engine, its CLI and the device check, bundled by esbuild
//   node_modules/webgpu/   the `webgpu` package's loader and its linux-x64 dawn.node
//   *.wasm             tfjs-backend-wasm's modules (found beside the bundle)
//   bench/, test/reference/   the PyTorch and transformers scripts the check runs
//   lib/libvulkan.so.1 the Vulkan loader, used only where the machine has none
//   run.sh             ./run.sh OUT_DIR [--allow-software]
// The tarball must stay under 64 MiB. Run `tsc -b` first (npm run device-bundle does).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const outDir = resolve(process.argv[2] ?? join(root, 'release', 'device-bundle'));
const bundle = join(outDir, 'whetstone-device');
const LIMIT_BYTES = 64 * 1024 * 1024;

if (process.platform !== 'linux' || process.arch !== 'x64') {
  throw new Error(
    `The device bundle is built for linux-x64; this is ${process.platform}-${process.arch}.`,
  );
}
const entry = join(root, 'dist', 'bench', 'device-check', 'bundle-entry.js');
if (!existsSync(entry)) throw new Error(`${entry} is missing: run tsc -b first.`);

rmSync(bundle, { recursive: true, force: true });
mkdirSync(bundle, { recursive: true });
const copy = (from, to) => {
  mkdirSync(dirname(join(bundle, to)), { recursive: true });
  copyFileSync(from, join(bundle, to));
};

// One ESM file. tfjs-backend-wasm's emscripten loader looks for its .wasm in __dirname, and a few
// dependencies call require(): the banner gives an ES module both.
const { build } = await import(require.resolve('esbuild'));
await build({
  entryPoints: [entry],
  outfile: join(bundle, 'whetstone.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // tfjs's backends register themselves on import, which their package.json calls side-effect free.
  ignoreAnnotations: true,
  // Loaded at run time from beside the bundle (webgpu), or absent on purpose (the rest: their
  // backends are then reported unavailable and skipped).
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'electron'],
  banner: {
    js: [
      "import { createRequire as __whetstoneRequire } from 'node:module';",
      "import { fileURLToPath as __whetstonePath } from 'node:url';",
      "import { dirname as __whetstoneDir } from 'node:path';",
      'const require = __whetstoneRequire(import.meta.url);',
      'const __filename = __whetstonePath(import.meta.url);',
      'const __dirname = __whetstoneDir(__filename);',
    ].join('\n'),
  },
});

const webgpu = dirname(require.resolve('webgpu/package.json'));
for (const file of ['package.json', 'index.js', 'dist/linux-x64/dawn.node'])
  copy(join(webgpu, file), join('node_modules', 'webgpu', file));
const wasm = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const file of [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
])
  copy(join(wasm, file), file);
copy(process.execPath, 'node');
copy(join(root, 'bench', 'torch_train_step.py'), 'bench/torch_train_step.py');
copy(join(root, 'bench', 'hf_judge.py'), 'bench/hf_judge.py');
copy(join(root, 'bench', 'nf4_judge.py'), 'bench/nf4_judge.py');
copy(join(root, 'test', 'reference', 'hf_reference.py'), 'test/reference/hf_reference.py');
const vulkan = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';
if (existsSync(vulkan)) copy(vulkan, 'lib/libvulkan.so.1');

writeFileSync(
  join(bundle, 'run.sh'),
  `#!/bin/sh
# The Whetstone device check from this folder: ./run.sh OUT_DIR [--allow-software] [--quick]
set -e
here=$(cd "$(dirname "$0")" && pwd)
# The carried Vulkan loader only where the machine has none (a machine's own is matched to its driver).
if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec "$here/node" "$here/whetstone.mjs" device-check "$@"
`,
);
chmodSync(join(bundle, 'run.sh'), 0o755);
chmodSync(join(bundle, 'node'), 0o755);

const tarball = join(outDir, 'whetstone-device.tar.xz');
rmSync(tarball, { force: true });
execFileSync('tar', ['-cf', tarball, '-I', 'xz -4 -T0', '-C', outDir, 'whetstone-device'], {
  stdio: 'inherit',
});
const size = statSync(tarball).size;
const mib = (size / 1024 / 1024).toFixed(1);
if (size > LIMIT_BYTES) throw new Error(`${tarball} is ${mib} MiB, above the 64 MiB limit.`);
process.stdout.write(
  `${tarball}: ${mib} MiB\nUnpack it and run: whetstone-device/run.sh OUT_DIR\n`,
);
