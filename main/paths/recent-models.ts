// Recent models, remembered across restarts in the user's data directory (a small JSON file).
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../../engine/train/run-dir.js';
import type { ModelEntry } from '../contract.js';

const KEEP = 20;

export class RecentModels {
  private writes = Promise.resolve();

  constructor(private readonly file: string) {}

  async list(): Promise<ModelEntry[]> {
    try {
      const entries = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      if (!Array.isArray(entries)) return [];
      return entries.flatMap((e: { path?: unknown; lastUsed?: unknown }) =>
        typeof e.path === 'string' && typeof e.lastUsed === 'string'
          ? [
              {
                path: e.path,
                name: basename(e.path),
                source: 'recent' as const,
                lastUsed: e.lastUsed,
              },
            ]
          : [],
      );
    } catch {
      return [];
    }
  }

  /** Put `path` first; writes are serialised so two quick adds never lose one. */
  add(path: string): Promise<void> {
    this.writes = this.writes.then(async () => {
      const rest = (await this.list()).filter((e) => e.path !== path);
      const next = [{ path, lastUsed: new Date().toISOString() }, ...rest].slice(0, KEEP);
      await mkdir(dirname(this.file), { recursive: true });
      await writeFileAtomic(
        this.file,
        `${JSON.stringify(
          next.map((e) => ({ path: e.path, lastUsed: e.lastUsed })),
          null,
          2,
        )}\n`,
      );
    });
    return this.writes;
  }
}
