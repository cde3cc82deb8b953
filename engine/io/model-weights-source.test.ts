import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhetstoneError } from '../errors.js';
import { openWeights } from './model-weights-source.js';
import {
  writeSafetensors,
  writeShardedSafetensors,
  type WriteEntry,
} from './safetensors-writer.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'whetstone-weights-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const entries: WriteEntry[] = ['a', 'b', 'c', 'd', 'e'].map((name, i) => ({
  name: `layer.${name}`,
  shape: [4, 8],
  dtype: 'F32',
  data: Float32Array.from({ length: 32 }, (_, j) => i * 100 + j),
}));

async function folder(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

async function openError(dir: string): Promise<WhetstoneError> {
  return openWeights(dir).then(
    () => {
      throw new Error('expected openWeights to fail');
    },
    (err: WhetstoneError) => err,
  );
}

describe('model weight folders', () => {
  it('shards with an index read the same tensors as one file', async () => {
    const single = await folder('single');
    await writeSafetensors(join(single, 'model.safetensors'), entries);
    const sharded = await folder('sharded');
    const result = await writeShardedSafetensors(sharded, entries, { maxShardBytes: 300 });
    expect(result.files).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'model.safetensors.index.json',
    ]);
    const index = JSON.parse(
      await readFile(join(sharded, 'model.safetensors.index.json'), 'utf8'),
    ) as { metadata: { total_size: number } };
    expect(index.metadata.total_size).toBe(5 * 128);

    const a = await openWeights(single);
    const b = await openWeights(sharded);
    expect(b.files).toHaveLength(3);
    expect(b.names().sort()).toEqual(a.names().sort());
    for (const name of a.names()) {
      expect(await b.readRaw(name)).toEqual(await a.readRaw(name));
      expect(b.info(name).file).toContain('model-0000');
    }
    await a.close();
    await b.close();
  });

  it('one shard is written as model.safetensors without an index', async () => {
    const dir = await folder('one-shard');
    const result = await writeShardedSafetensors(dir, entries, { maxShardBytes: 1 << 20 });
    expect(result.files).toEqual(['model.safetensors']);
  });

  it('index problems are named: missing shard, tensor not in its shard, paths outside the folder', async () => {
    const dir = await folder('bad-index');
    await writeShardedSafetensors(dir, entries, { maxShardBytes: 300 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
      weight_map: Record<string, string>;
    };

    await writeFile(
      indexPath,
      JSON.stringify({
        weight_map: { ...index.weight_map, extra: 'model-00009-of-00009.safetensors' },
      }),
    );
    let err = await openError(dir);
    expect(err.code).toBe('MODEL_FILE_INVALID');
    expect(err.message).toContain('model-00009-of-00009.safetensors');

    await writeFile(
      indexPath,
      JSON.stringify({
        weight_map: { ...index.weight_map, 'layer.a': 'model-00003-of-00003.safetensors' },
      }),
    );
    err = await openError(dir);
    expect(err.message).toMatch(
      /"layer.a" is in model-00003-of-00003.safetensors, but that shard does not hold it/,
    );

    await writeFile(
      indexPath,
      JSON.stringify({ weight_map: { 'layer.a': '../elsewhere.safetensors' } }),
    );
    expect((await openError(dir)).message).toContain('not a .safetensors file name');

    await writeFile(indexPath, '{"weight_map": ');
    expect((await openError(dir)).message).toContain('not valid JSON');
  });

  it('a folder with PyTorch pickles, GGUF, or nothing says what it found', async () => {
    const pickles = await folder('pickles');
    await writeFile(join(pickles, 'pytorch_model.bin'), 'x');
    let err = await openError(pickles);
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain('pytorch_model.bin');
    expect(err.hint).toContain('safe_serialization=True');

    const gguf = await folder('gguf');
    await writeFile(join(gguf, 'model-q4.gguf'), 'x');
    expect((await openError(gguf)).code).toBe('MODEL_UNSUPPORTED');

    err = await openError(await folder('empty'));
    expect(err.message).toContain('model.safetensors');
    expect((await openError(join(root, 'no-such-folder'))).code).toBe('MODEL_NOT_FOUND');
  });
});
