// Which full-precision base a QLoRA run trained on: per safetensors file its size and a SHA-256 of
// its header and of 16 chunks spread over its data. Cheap at any model size, it tells a moved copy
// (same identity) from a changed or different checkpoint (fine-tuning rewrites nearly every byte),
// so an export can merge into the original weights only when they are the ones trained against.
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openWeights } from '../io/model-weights-source.js';
import { writeFileAtomic } from '../train/run-dir.js';

export interface BaseIdentity {
  files: { name: string; bytes: number; sha256: string }[];
}

const SAMPLES = 16;
const CHUNK = 64 * 1024;
/** The file in a run folder that records its base (QLoRA runs). */
export const BASE_IDENTITY_FILE = 'base-model.json';

async function fingerprint(path: string): Promise<{ bytes: number; sha256: string }> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const hash = createHash('sha256');
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      await file.read(buffer, 0, buffer.length, position);
      hash.update(buffer);
    };
    const head = Buffer.alloc(8);
    await file.read(head, 0, 8, 0);
    const headerEnd = 8 + Number(head.readBigUInt64LE(0));
    await read(0, headerEnd);
    const data = size - headerEnd;
    for (let k = 0; k < SAMPLES; k++) {
      await read(headerEnd + Math.floor((k * Math.max(0, data - CHUNK)) / (SAMPLES - 1)), CHUNK);
    }
    return { bytes: size, sha256: hash.digest('hex') };
  } finally {
    await file.close();
  }
}

/** The identity of the weights in a model folder (files named without their folder). */
export async function baseIdentity(dir: string): Promise<BaseIdentity> {
  const source = await openWeights(dir);
  const paths = [...source.files];
  await source.close();
  const files = [];
  for (const path of paths.sort())
    files.push({ name: basename(path), ...(await fingerprint(path)) });
  return { files };
}

export function sameBase(a: BaseIdentity, b: BaseIdentity): boolean {
  return JSON.stringify(a.files) === JSON.stringify(b.files);
}

export async function recordBaseIdentity(runDir: string, modelDir: string): Promise<void> {
  const identity = await baseIdentity(modelDir);
  await writeFileAtomic(join(runDir, BASE_IDENTITY_FILE), `${JSON.stringify(identity, null, 2)}\n`);
}

/** The run's recorded base, or undefined for a run that recorded none. */
export async function readBaseIdentity(runDir: string): Promise<BaseIdentity | undefined> {
  try {
    return JSON.parse(await readFile(join(runDir, BASE_IDENTITY_FILE), 'utf8')) as BaseIdentity;
  } catch {
    return undefined;
  }
}
