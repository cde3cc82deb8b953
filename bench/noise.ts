// Benchmark: counter-based noise in ns per element, one thread, every implementation side by side
// in one run (the machine may be shared: compare rows, not runs): the float64 Box-Muller with
// Math.log/cos/sin that the noise used before, the float32 JS reference, the wasm SIMD kernel,
// and the native C++ kernel built with g++ -O3 (its SSE2 and AVX2 copies) and -O3 -march=native
// (where g++ exists).
//   npm run bench:noise            (builds first)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noiseAxpy } from '../engine/backend/noise.js';
import { simdNoiseAxpy, simdNoiseOn } from '../engine/backend/noise-simd.js';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import type { WasmBackend } from '../engine/backend/custom-kernels.js';
import { counterBits, noiseAxpyInto, streamKey } from '../engine/util/counter-rng.js';

const N = 1 << 22;
const REPS = 7;

/**
 * Best of REPS runs of fn over N elements, in ns of CPU time per element: on a shared machine
 * wall time counts the time other processes hold the core.
 */
function nsPerElement(fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.cpuUsage();
    fn();
    const used = process.cpuUsage(t0);
    best = Math.min(best, ((used.user + used.system) * 1000) / N);
  }
  return best;
}

/** The earlier definition's cost: 24-bit uniforms, then log, sqrt, cos and sin in float64. */
function float64BoxMuller(out: Float32Array, key: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = ((counterBits(i, key) >>> 8) + 0.5) * 2 ** -24;
    const theta = 2 * Math.PI * ((counterBits(i + 1, key) >>> 8) + 0.5) * 2 ** -24 - Math.PI;
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(theta);
    out[i + 1] = r * Math.sin(theta);
  }
}

function native(flags: string[]): number | string {
  const work = mkdtempSync(join(tmpdir(), 'whetstone-noise-bench-'));
  try {
    const root = join(import.meta.dirname, '..', '..', 'native');
    const exe = join(work, 'noise-check');
    execFileSync('g++', [
      ...flags,
      '-fno-math-errno',
      '-std=c++17',
      join(root, 'src', 'noise.cc'),
      join(root, 'test', 'noise-check.cc'),
      '-o',
      exe,
    ]);
    const line = execFileSync(exe, ['bench', String(N), String(REPS)], { encoding: 'utf8' });
    return Number.parseFloat(line);
  } catch (err) {
    return `skipped: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const key = streamKey(1234, 99);
const host = new Float32Array(N);
const x = new Float32Array(N).fill(0.5);
// (The reference first: measured after the float64 loop, it ran a third slower, the JIT's doing.)
const reference = nsPerElement(() => noiseAxpyInto(host, x, 1, 1e-3, 1234, 99, 'none'));
const rows: [string, number | string][] = [
  ['float64 Box-Muller, JS (before)', nsPerElement(() => float64BoxMuller(host, key))],
  ['float32 reference, JS', reference],
];

await initBackend({ backend: 'wasm' });
const heap = tf.backend() as unknown as WasmBackend;
const xt = tf.tensor1d(x);
const view = heap.typedArrayFromHeap(xt);
const simd = simdNoiseOn(tf.backend());
rows.push([
  'wasm SIMD, in place on the heap',
  simd ? nsPerElement(() => simdNoiseAxpy(simd, view, view, 1, 1e-3, key, 'none')) : 'unavailable',
]);
rows.push([
  'wasm backend noiseAxpy op (+ output alloc)',
  nsPerElement(() => tf.dispose(noiseAxpy(xt, 1, 1e-3, { seed: 1234, stream: 99 }))),
]);
tf.dispose(xt);
rows.push(['native C++, g++ -O3, SSE2 only', native(['-O3', '-DWHETSTONE_NOISE_NO_CLONES'])]);
rows.push(['native C++, g++ -O3 (AVX2 copy)', native(['-O3'])]);
rows.push(['native C++, g++ -O3 -march=native', native(['-O3', '-march=native'])]);

const before = rows[0]![1] as number;
process.stdout.write(`noise, ${N} elements, best of ${REPS}, CPU time, one thread\n`);
for (const [name, v] of rows) {
  const cell = typeof v === 'number' ? `${v.toFixed(2)} ns  (${(before / v).toFixed(1)}×)` : v;
  process.stdout.write(`${name.padEnd(44)} ${cell}\n`);
}
