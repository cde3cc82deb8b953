// The Hugging Face cache scan lists snapshots holding config.json and respects HF_* variables.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hfHubDir, scanHfCache } from './hf-cache.js';

let hub: string;
beforeAll(async () => {
  hub = await mkdtemp(join(tmpdir(), 'whetstone-hub-'));
  const repo = join(hub, 'models--org--tiny-llama');
  await mkdir(join(repo, 'blobs'), { recursive: true });
  await writeFile(join(repo, 'blobs', 'abc'), '{}');
  for (const rev of ['r1', 'r2']) await mkdir(join(repo, 'snapshots', rev), { recursive: true });
  // As the hub library does: snapshot files are symlinks into blobs/.
  await symlink(join(repo, 'blobs', 'abc'), join(repo, 'snapshots', 'r1', 'config.json'));
  await symlink(join(repo, 'blobs', 'gone'), join(repo, 'snapshots', 'r2', 'config.json'));
  await mkdir(join(hub, 'datasets--org--set', 'snapshots', 'r3'), { recursive: true });
  await writeFile(join(hub, 'datasets--org--set', 'snapshots', 'r3', 'config.json'), '{}');
});
afterAll(() => rm(hub, { recursive: true, force: true }));

describe('Hugging Face cache', () => {
  it('lists model snapshots with a config.json, skipping dangling ones and datasets', async () => {
    const found = await scanHfCache(hub);
    expect(found).toEqual([
      {
        path: join(hub, 'models--org--tiny-llama', 'snapshots', 'r1'),
        name: 'org/tiny-llama',
        source: 'hf-cache',
        revision: 'r1',
      },
    ]);
    expect(await scanHfCache(join(hub, 'missing'))).toEqual([]);
  });

  it('finds the hub folder as the hub library does', () => {
    expect(hfHubDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b' })).toBe('/a');
    expect(hfHubDir({ HF_HOME: '/b' })).toBe(join('/b', 'hub'));
    expect(hfHubDir({ XDG_CACHE_HOME: '/c' })).toBe(join('/c', 'huggingface', 'hub'));
  });
});
