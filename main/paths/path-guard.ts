// The path allow-list: main reads only models and datasets the user named (a dialog, a drop, a
// typed path, a recent model, a Hugging Face cache entry the app listed). Paths are compared after
// resolving symlinks and `..`, so a named folder cannot be used to reach outside it.
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { WhetstoneError } from '../../engine/errors.js';
import type { PathKind, PickKind } from '../contract.js';

export class PathGuard {
  private readonly allowed = new Map<PickKind, Set<string>>([
    ['model', new Set()],
    ['dataset', new Set()],
    ['export', new Set()],
  ]);

  /** Add a path the user named; returns its resolved form. Missing paths are refused. */
  async allow(kind: PickKind, path: string): Promise<string> {
    const real = await realpath(resolve(path)).catch(() => undefined);
    if (real === undefined) {
      throw new WhetstoneError(
        kind === 'model' ? 'MODEL_NOT_FOUND' : 'DATASET_INVALID',
        `${path} does not exist.`,
        'Check the path, or pick the file again.',
      );
    }
    this.allowed.get(kind)!.add(real);
    return real;
  }

  /**
   * `path` resolved, if it is a path the user named or lies inside one; otherwise
   * PATH_NOT_ALLOWED, so a compromised window cannot read arbitrary files through a job.
   */
  async check(kind: PathKind, path: string): Promise<string> {
    const real = await realpath(resolve(path)).catch(() => resolve(path));
    for (const root of this.allowed.get(kind)!) {
      if (real === root || real.startsWith(root.endsWith(sep) ? root : root + sep)) return real;
    }
    throw new WhetstoneError(
      'PATH_NOT_ALLOWED',
      `${path} is not a ${kind} you picked, so Whetstone will not read it.`,
      `Choose it with the ${kind} picker, or drop it on the window.`,
    );
  }

  /**
   * `out` resolved, if an export may write there: strictly inside a folder the user picked for
   * exports or inside one of `roots` (the run's own exports folder). Otherwise PATH_NOT_ALLOWED,
   * so a typed destination cannot create folders anywhere the app may write. The folder need not
   * exist: its nearest existing ancestor is resolved (symlinks included) and the rest appended.
   */
  async checkExport(out: string, roots: string[], canPick = true): Promise<string> {
    const real = await resolveMissing(resolve(out));
    const realRoots = await Promise.all(roots.map((r) => resolveMissing(resolve(r))));
    for (const root of [...this.allowed.get('export')!, ...realRoots]) {
      if (real.startsWith(root.endsWith(sep) ? root : root + sep)) return real;
    }
    throw new WhetstoneError(
      'PATH_NOT_ALLOWED',
      `Whetstone will not write an export to ${out}: it is outside the run's exports folder and every folder you picked.`,
      `Leave the destination empty to use the run's exports folder (${roots[0] ?? 'exports/'})` +
        (canPick
          ? ', or choose a folder with the picker and export into it.'
          : ', or type a folder inside it.'),
    );
  }
}

/** `path` with its nearest existing ancestor's symlinks resolved; the missing rest appended. */
async function resolveMissing(path: string): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  if (real !== undefined) return real;
  const parent = dirname(path);
  if (parent === path) return path;
  return join(await resolveMissing(parent), basename(path));
}

/** Whether `path` is what `kind` needs: a folder with config.json, or a file. */
export async function describePath(kind: PathKind, path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (kind === 'model') {
    const config = await stat(resolve(path, 'config.json')).catch(() => undefined);
    if (!info?.isDirectory() || !config?.isFile()) {
      throw new WhetstoneError(
        'MODEL_NOT_FOUND',
        `${path} is not a model folder (no config.json in it).`,
        'Pick the folder that holds config.json and the .safetensors files (Hugging Face layout).',
      );
    }
    return;
  }
  if (!info?.isFile()) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${path} is not a file.`,
      'Pick a dataset file: JSONL, JSON, CSV, TSV, Parquet or TXT.',
    );
  }
}

/** Whether `path` is a folder an export may be written into. */
export async function describeExportFolder(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${path} is not a folder.`,
      'Pick the folder the export should be written into.',
    );
  }
}
