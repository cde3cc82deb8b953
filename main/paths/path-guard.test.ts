// The allow-list refuses paths outside what the user picked, through `..` or symlinks too.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePath, PathGuard } from './path-guard.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'whetstone-guard-'));
  await mkdir(join(root, 'picked', 'model'), { recursive: true });
  await writeFile(join(root, 'picked', 'model', 'config.json'), '{}');
  await mkdir(join(root, 'secret'));
  await writeFile(join(root, 'secret', 'keys.jsonl'), '{"text":"no"}\n');
  await writeFile(join(root, 'picked', 'data.jsonl'), '{"text":"yes"}\n');
  await symlink(join(root, 'secret'), join(root, 'picked', 'model', 'escape'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('PathGuard', () => {
  it('allows what was picked and what lies inside a picked folder', async () => {
    const guard = new PathGuard();
    const model = await guard.allow('model', join(root, 'picked', 'model'));
    expect(await guard.check('model', join(root, 'picked', 'model'))).toBe(model);
    await guard.allow('dataset', join(root, 'picked', 'data.jsonl'));
    expect(await guard.check('dataset', join(root, 'picked', 'data.jsonl'))).toMatch(
      /data\.jsonl$/,
    );
  });

  it('refuses paths outside, by .., by symlink, by prefix, and of the other kind', async () => {
    const guard = new PathGuard();
    await guard.allow('model', join(root, 'picked', 'model'));
    const refused = [
      ['dataset', join(root, 'secret', 'keys.jsonl')],
      ['model', join(root, 'picked', 'model', '..', '..', 'secret')],
      ['model', join(root, 'picked', 'model', 'escape')],
      ['model', `${join(root, 'picked', 'model')}-evil`],
      ['dataset', join(root, 'picked', 'model', 'config.json')],
      ['model', '/etc'],
    ] as const;
    for (const [kind, path] of refused) {
      await expect(guard.check(kind, path)).rejects.toMatchObject({ code: 'PATH_NOT_ALLOWED' });
    }
  });

  it('refuses to allow a path that does not exist, and checks what a kind needs', async () => {
    const guard = new PathGuard();
    await expect(guard.allow('model', join(root, 'nope'))).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(describePath('model', join(root, 'secret'))).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(describePath('dataset', join(root, 'picked'))).rejects.toMatchObject({
      code: 'DATASET_INVALID',
    });
    await expect(describePath('model', join(root, 'picked', 'model'))).resolves.toBeUndefined();
  });
});
