// Loads the native addon (native/, built by scripts/build-native.js at `npm install`). When it is
// missing, the reason the build left behind is what `whetstone backends` reports.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions (native/src/addon.cc); every tensor argument is its own typed array. */
export interface NativeAddon {
  info(): { blas: string; blasThreads: number; threads: number };
  setThreads(n: number): void;
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
  ): void;
  binary(
    op: number,
    a: Float32Array,
    aShape: number[],
    b: Float32Array,
    bShape: number[],
    out: Float32Array,
    outShape: number[],
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduce(
    op: number,
    x: Float32Array,
    out: Float32Array,
    outer: number,
    r: number,
    inner: number,
  ): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void;
  transpose(x: Word32Array, out: Word32Array, shape: number[], perm: number[]): void;
  gather(
    x: Word32Array,
    indices: Int32Array,
    out: Word32Array,
    outer: number,
    axis: number,
    inner: number,
    count: number,
  ): number;
  segmentSum(
    x: Float32Array,
    ids: Int32Array,
    out: Float32Array,
    rows: number,
    inner: number,
    segments: number,
  ): number;
  slice(x: Word32Array, shape: number[], begin: number[], size: number[], out: Word32Array): void;
  padInto(
    x: Word32Array,
    shape: number[],
    before: number[],
    out: Word32Array,
    outShape: number[],
  ): void;
  /** out = a·x + b·T(z) with z the noise of engine/util/counter-rng.ts under `key`. */
  noiseAxpy(
    out: Float32Array,
    x: Float32Array | null,
    a: number,
    b: number,
    key: number,
    transform: number,
  ): void;
  axpby(x: Float32Array, a: number, y: Float32Array, b: number, out: Float32Array): void;
  sumSquares(x: Float32Array): number;
  adamStep(
    x: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
    decay: number,
    scale: number,
    vScale: number,
    eps: number,
  ): void;
  nf4Dequantize(
    codes: Int32Array,
    absmaxCodes: Int32Array,
    absmaxScales: Float32Array,
    nf4Code: Float32Array,
    dynamicCode: Float32Array,
    out: Float32Array,
    nf4Block: number,
    absmaxBlock: number,
  ): void;
}

/** Float32 or int32 storage: data movement kernels copy 4-byte words of either. */
export type Word32Array = Float32Array | Int32Array;

/** The repository (or packaged app) root: the nearest folder above this file with native/ in
 * it (this file runs from engine/ under the tests and from dist/engine/ when built). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'native', 'src')) && !existsSync(join(dir, 'native', 'build'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** Where the addon and its build notes live (WHETSTONE_NATIVE_DIR overrides, for packaging). */
export function nativeBuildDir(): string {
  const dir = process.env.WHETSTONE_NATIVE_DIR ?? join(projectRoot(), 'native', 'build');
  // Inside an Electron asar archive, native modules are unpacked beside it.
  return dir.replace(`app.asar${sep}`, `app.asar.unpacked${sep}`);
}

export const ADDON_FILE = 'whetstone-native.node';
/** Written by the build script when it could not build the addon: the reason, for people. */
export const UNAVAILABLE_FILE = 'unavailable.txt';

let loaded: NativeAddon | undefined;

/** The addon, or a thrown Error whose message says why it is not here. */
export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  const dir = nativeBuildDir();
  const file = join(dir, ADDON_FILE);
  if (!existsSync(file)) {
    const note = join(dir, UNAVAILABLE_FILE);
    const why = existsSync(note) ? readFileSync(note, 'utf8').trim() : 'it was never built';
    throw new Error(`the native addon is not built (${why})`);
  }
  loaded = createRequire(import.meta.url)(file) as NativeAddon;
  return loaded;
}
