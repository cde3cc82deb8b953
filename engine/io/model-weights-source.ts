// The weights of a Hugging Face model folder as one set of named tensors, whether stored in one
// `model.safetensors` or in shards listed by `model.safetensors.index.json`.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { SafetensorsFile, type ReadTensor, type TensorInfo } from './safetensors.js';

export interface WeightSource {
  /** Paths of the safetensors files. */
  readonly files: string[];
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  read(name: string): Promise<ReadTensor>;
  readRaw(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Open the weights of a model folder; headers are validated, no tensor data is read. */
export async function openWeights(dir: string): Promise<WeightSource> {
  const entries = await readdir(dir).catch((err: Error) => {
    throw new WhetstoneError('MODEL_NOT_FOUND', `Cannot read the folder ${dir}: ${err.message}`);
  });
  if (entries.includes(INDEX)) return openSharded(dir);
  if (entries.includes(SINGLE))
    return fromFiles([await SafetensorsFile.open(join(dir, SINGLE))], new Map());
  throw noWeights(dir, entries);
}

function noWeights(dir: string, entries: string[]): WhetstoneError {
  const pytorch = entries.filter((f) => /^pytorch_model.*\.bin$|\.pt$|\.pth$/.test(f));
  if (pytorch.length > 0) {
    return new WhetstoneError(
      'MODEL_NOT_FOUND',
      `${dir} holds PyTorch pickle weights (${pytorch.join(', ')}) but no ${SINGLE}; Whetstone reads safetensors only (pickles can run code when loaded).`,
      `Convert once with transformers: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True).`,
    );
  }
  const gguf = entries.filter((f) => f.endsWith('.gguf'));
  if (gguf.length > 0) {
    return new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${dir} holds GGUF files (${gguf.join(', ')}); Whetstone fine-tunes Hugging Face safetensors checkpoints.`,
      'Download the original (non-GGUF) release of the model.',
    );
  }
  return new WhetstoneError(
    'MODEL_NOT_FOUND',
    `${dir} has neither ${SINGLE} nor ${INDEX}.`,
    'Pick the folder that holds config.json, the .safetensors weights and tokenizer.json.',
  );
}

async function openSharded(dir: string): Promise<WeightSource> {
  const indexPath = join(dir, INDEX);
  const weightMap = parseIndex(indexPath, await readFile(indexPath, 'utf8'));
  const shardNames = [...new Set(weightMap.values())];
  const files: SafetensorsFile[] = [];
  try {
    for (const shard of shardNames) {
      try {
        files.push(await SafetensorsFile.open(join(dir, shard)));
      } catch (err) {
        if (err instanceof WhetstoneError && err.code === 'MODEL_NOT_FOUND') {
          throw new WhetstoneError(
            'MODEL_FILE_INVALID',
            `${indexPath} lists the shard ${shard}, which is missing from ${dir}.`,
            'The download is incomplete: fetch the missing shard.',
          );
        }
        throw err;
      }
    }
    const byName = new Map(shardNames.map((s, i) => [s, files[i]!]));
    const owner = new Map<string, SafetensorsFile>();
    for (const [tensor, shard] of weightMap) {
      const file = byName.get(shard)!;
      if (!file.has(tensor)) {
        throw new WhetstoneError(
          'MODEL_FILE_INVALID',
          `${indexPath} says tensor "${tensor}" is in ${shard}, but that shard does not hold it.`,
          'The index and the shards come from different exports: download the model again.',
        );
      }
      owner.set(tensor, file);
    }
    return fromFiles(files, owner);
  } catch (err) {
    await Promise.all(files.map((f) => f.close()));
    throw err;
  }
}

function parseIndex(path: string, text: string): Map<string, string> {
  const bad = (problem: string) =>
    new WhetstoneError(
      'MODEL_FILE_INVALID',
      `${path} ${problem}`,
      'Download or export the model again.',
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(`is not valid JSON: ${(err as Error).message}`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw bad('has no "weight_map" object.');
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    // Shard names are plain file names in the folder; anything else could reach outside it.
    if (
      typeof shard !== 'string' ||
      !/^[^/\\]+\.safetensors$/.test(shard) ||
      shard.startsWith('.')
    ) {
      throw bad(
        `maps "${tensor}" to ${JSON.stringify(shard)}, which is not a .safetensors file name in the folder.`,
      );
    }
    out.set(tensor, shard);
  }
  if (out.size === 0) throw bad('lists no tensors.');
  return out;
}

/** One source over several files; `owner` says which file holds a tensor (else: the first that has it). */
function fromFiles(files: SafetensorsFile[], owner: Map<string, SafetensorsFile>): WeightSource {
  const find = (name: string): SafetensorsFile => {
    const file = owner.get(name) ?? files.find((f) => f.has(name));
    if (!file) {
      throw new WhetstoneError(
        'TENSOR_MISSING',
        `${files.map((f) => f.path).join(', ')} has no tensor "${name}".`,
      );
    }
    return file;
  };
  const names = owner.size > 0 ? [...owner.keys()] : files.flatMap((f) => f.names());
  const nameSet = new Set(names);
  return {
    files: files.map((f) => f.path),
    names: () => [...names],
    has: (name) => nameSet.has(name),
    info: (name) => find(name).info(name),
    read: (name) => find(name).read(name),
    readRaw: (name) => find(name).readRaw(name),
    close: async () => {
      await Promise.all(files.map((f) => f.close()));
    },
  };
}
