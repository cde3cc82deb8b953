// The native backend's noise (native/src/noise.cc) against the reference loop of
// engine/util/counter-rng.ts, bit for bit: native/test/noise-check.cc is compiled with g++ and run
// over a few cases. Skips where g++ is missing, except under CI (CI=true), where that fails.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noiseAxpyInto, type NoiseTransform } from '../engine/util/counter-rng.js';

const native = join(import.meta.dirname, '..', 'native');
const sources = [join(native, 'src', 'noise.cc'), join(native, 'test', 'noise-check.cc')];

function gppAvailable(): boolean {
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI) throw new Error('g++ is missing (apt-get install g++)');
    process.stderr.write('native noise check skipped: g++ is missing (apt-get install g++)\n');
    return false;
  }
}

const work = mkdtempSync(join(tmpdir(), 'whetstone-noise-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bitsOf = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0]!;
const transforms: NoiseTransform[] = ['none', 'sign', 'square'];

interface Case {
  seed: number;
  stream: number;
  n: number;
  a: number;
  b: number;
  transform: NoiseTransform;
  /** No x, x in its own buffer, or x in the output buffer. */
  x: 'none' | 'separate' | 'in-place';
  /** The size of the ranges [0, n) is computed in, as the addon's threads would split it. */
  chunk: number;
}

const cases: Case[] = [
  { seed: 42, stream: 7, n: 4661, a: 0, b: 1, transform: 'none', x: 'none', chunk: 4661 },
  { seed: 42, stream: 7, n: 4661, a: 0.75, b: -0.3, transform: 'none', x: 'separate', chunk: 512 },
  // Odd ranges, as a split of n by the thread count may give.
  { seed: 42, stream: 7, n: 4661, a: 0.75, b: -0.3, transform: 'none', x: 'in-place', chunk: 777 },
  {
    seed: 1,
    stream: 2 ** 31 + 5,
    n: 100_001,
    a: 1,
    b: 1e-3,
    transform: 'square',
    x: 'in-place',
    chunk: 998,
  },
  {
    seed: 2 ** 32 - 1,
    stream: 0,
    n: 3001,
    a: -1.5,
    b: 0.7,
    transform: 'sign',
    x: 'separate',
    chunk: 3001,
  },
  { seed: 9, stream: 9, n: 7, a: 0.3, b: 2, transform: 'none', x: 'in-place', chunk: 2 },
  { seed: 5, stream: 6, n: 1 << 18, a: 0, b: -2, transform: 'none', x: 'none', chunk: 1 << 16 },
];

/** The reference for a case, with x[i] = ((i mod 1001) − 500)/16 as noise-check builds it. */
function expected(c: Case): Float32Array {
  const x = Float32Array.from({ length: c.n }, (_, i) => ((i % 1001) - 500) / 16);
  const out = c.x === 'in-place' ? x : new Float32Array(c.n);
  noiseAxpyInto(out, c.x === 'none' ? undefined : x, c.a, c.b, c.seed, c.stream, c.transform);
  return out;
}

function runCases(exe: string): Buffer {
  const lines = cases.map((c) =>
    [
      c.seed,
      c.stream,
      c.n,
      bitsOf(c.a),
      bitsOf(c.b),
      transforms.indexOf(c.transform),
      ['none', 'separate', 'in-place'].indexOf(c.x),
      c.chunk,
    ].join(' '),
  );
  return execFileSync(exe, ['cases'], { input: lines.join('\n'), maxBuffer: 1 << 26 });
}

describe.skipIf(!gppAvailable())('native noise kernel', () => {
  // Plain -O3 is what the addon builds with: on x86-64 Linux it runs an AVX2 copy of the loop
  // where the CPU has AVX2, so the SSE2 copy is built on its own too. -march=native adds FMA and
  // leaves out -ffp-contract=off on purpose: noise.cc must keep multiplies and adds apart itself.
  it.each([
    ['-O3', ['-O3', '-ffp-contract=off']],
    ['-O3, no AVX2 copy', ['-O3', '-ffp-contract=off', '-DWHETSTONE_NOISE_NO_CLONES']],
    ['-O3 -march=native', ['-O3', '-march=native']],
  ])('matches the reference bit for bit, built with %s', (name, flags) => {
    const exe = join(work, `noise-check-${name.replace(/\W+/g, '-')}`);
    execFileSync('g++', [...flags, '-fno-math-errno', '-std=c++17', ...sources, '-o', exe]);
    const got = runCases(exe);
    let offset = 0;
    for (const c of cases) {
      const want = Buffer.from(expected(c).buffer);
      const slice = got.subarray(offset, offset + want.length);
      offset += want.length;
      if (!slice.equals(want)) {
        const g = new Float32Array(
          slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.length),
        );
        const w = new Float32Array(want.buffer);
        const i = w.findIndex((v, k) => !Object.is(v, g[k]));
        expect.fail(`${JSON.stringify(c)}: element ${i} is ${g[i]}, the reference ${w[i]}`);
      }
    }
    expect(offset).toBe(got.length);
  });

  it('refuses to build without -fno-math-errno, which would leave its loop scalar', () => {
    expect(() =>
      execFileSync('g++', ['-O3', '-std=c++17', '-c', sources[0]!, '-o', join(work, 'x.o')], {
        stdio: 'pipe',
      }),
    ).toThrow(/fno-math-errno/);
  });
});
