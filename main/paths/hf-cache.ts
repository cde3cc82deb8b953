// The Hugging Face cache, listed: models--org--name/snapshots/<revision>/ folders that hold a
// config.json. HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub (as the hub library).
import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelEntry } from '../contract.js';

export function hfHubDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  const cache = env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, 'huggingface', 'hub');
}

async function dirNames(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

export async function scanHfCache(hubDir = hfHubDir()): Promise<ModelEntry[]> {
  const out: ModelEntry[] = [];
  for (const repo of await dirNames(hubDir)) {
    if (!repo.startsWith('models--')) continue;
    const name = repo.slice('models--'.length).split('--').join('/');
    const snapshots = join(hubDir, repo, 'snapshots');
    for (const revision of await dirNames(snapshots)) {
      const path = join(snapshots, revision);
      // config.json is a symlink into blobs/; stat follows it, so a dangling one is skipped.
      const config = await stat(join(path, 'config.json')).catch(() => undefined);
      if (config?.isFile()) out.push({ path, name, source: 'hf-cache', revision });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
