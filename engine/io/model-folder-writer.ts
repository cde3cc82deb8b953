// Write a model as a Hugging Face folder that loads like the base it came from: the base's
// config and tokenizer files copied (config's dtype set to float32, what is written), the weights
// as safetensors, sharded with an index above `maxShardBytes`. Everything goes to a temporary
// folder renamed into place at the end, so a crash never leaves a half-written model where a user
// would load it.
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../errors.js';
import type { Params } from '../models/params.js';
import { entryBytes, writeShardedSafetensors, type WriteEntry } from './safetensors-writer.js';

/** Files that hold weights in some format: never copied from the base. */
const WEIGHT_FILE =
  /\.(safetensors|bin|pt|pth|ckpt|gguf|h5|msgpack)$|\.safetensors\.index\.json$|\.bin\.index\.json$/;

export interface ModelFolderOptions {
  baseDir: string;
  outDir: string;
  params: Params;
  /** Shard size (transformers' default is 5 GB). */
  maxShardBytes?: number;
  /** Replace an existing `outDir`. */
  force?: boolean;
  /** Bytes of weights written so far, of all; called before each tensor and once at the end. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export async function writeModelFolder(o: ModelFolderOptions): Promise<{ files: string[] }> {
  const exists = await stat(o.outDir).then(
    () => true,
    () => false,
  );
  if (exists && !o.force) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${o.outDir} already exists.`,
      'Choose another --out folder, or pass --force to replace it.',
    );
  }
  const temp = `${o.outDir}.partial-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    const copied: string[] = [];
    for (const entry of await readdir(o.baseDir, { withFileTypes: true })) {
      if (!entry.isFile() || WEIGHT_FILE.test(entry.name)) continue;
      if (entry.name === 'config.json') {
        const config = JSON.parse(await readFile(join(o.baseDir, entry.name), 'utf8')) as Record<
          string,
          unknown
        >;
        config.torch_dtype = 'float32';
        if ('dtype' in config) config.dtype = 'float32';
        await writeFile(join(temp, entry.name), `${JSON.stringify(config, null, 2)}\n`);
      } else {
        await copyFile(join(o.baseDir, entry.name), join(temp, entry.name));
      }
      copied.push(entry.name);
    }
    // Tensors are written one after another in this order: when one is fetched, the ones
    // before it are on disk.
    const total = [...o.params.entries()].reduce((n, [, v]) => n + v.size * 4, 0);
    let done = 0;
    const entries: WriteEntry[] = [...o.params.entries()].map(([name, v]) => ({
      name,
      shape: v.shape,
      dtype: 'F32',
      data: async () => {
        o.onProgress?.(done, total);
        done += entryBytes({ shape: v.shape, dtype: 'F32' });
        return await v.data();
      },
    }));
    const { files } = await writeShardedSafetensors(temp, entries, {
      maxShardBytes: o.maxShardBytes ?? 5e9,
      metadata: { format: 'pt' },
    });
    if (exists) await rm(o.outDir, { recursive: true, force: true });
    await rename(temp, o.outDir);
    o.onProgress?.(total, total);
    return { files: [...copied, ...files].sort() };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}
