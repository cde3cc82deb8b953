// Recent models survive a restart (a new instance reads the same file), newest first, no repeats.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecentModels } from './recent-models.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whetstone-recent-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('recent models', () => {
  it('keeps the newest first without repeats, across instances, at most 20', async () => {
    const file = join(dir, 'sub', 'recent-models.json');
    const recent = new RecentModels(file);
    expect(await recent.list()).toEqual([]);
    await Promise.all([recent.add('/m/a'), recent.add('/m/b'), recent.add('/m/a')]);
    const again = new RecentModels(file);
    expect((await again.list()).map((e) => e.path)).toEqual(['/m/a', '/m/b']);
    expect((await again.list())[0]).toMatchObject({ name: 'a', source: 'recent' });
    for (let i = 0; i < 25; i++) await again.add(`/m/${i}`);
    const list = await again.list();
    expect(list).toHaveLength(20);
    expect(list[0]?.path).toBe('/m/24');
  });

  it('reads a damaged file as empty rather than failing', async () => {
    const file = join(dir, 'damaged.json');
    await writeFile(file, '{not json');
    expect(await new RecentModels(file).list()).toEqual([]);
  });
});
