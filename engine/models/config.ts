// Model configs: the fields the engine uses, parsed from a Hugging Face config.json with the same
// defaults as transformers' config classes. Each architecture file parses its own kind.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import type { LlamaConfig } from './llama.js';
import type { Gpt2Config } from './gpt2.js';
import type { OptConfig } from './opt.js';
import type { EncoderConfig } from './encoder.js';

/** Fields every architecture's config has. */
export interface CommonConfig {
  /** `model_type` as written in config.json (llama, mistral, qwen2, gpt2, opt, roberta, bert). */
  modelType: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Longest sequence the position scheme supports. */
  contextLength: number;
  tieWordEmbeddings: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  padTokenId?: number;
  /** `torch_dtype` / `dtype` of the checkpoint, for display. */
  torchDtype?: string;
}

export type ModelConfig = LlamaConfig | Gpt2Config | OptConfig | EncoderConfig;

/** Read config.json of a model folder as a plain object. */
export async function readConfigJson(
  dir: string,
): Promise<{ raw: Record<string, unknown>; file: string }> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new WhetstoneError(
      'MODEL_NOT_FOUND',
      `${file} not found: ${dir} is not a Hugging Face model folder.`,
      'Pick the folder that holds config.json, model.safetensors and tokenizer.json.',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new WhetstoneError(
      'CONFIG_INVALID',
      `${file} is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new WhetstoneError('CONFIG_INVALID', `${file} must hold a JSON object.`);
  }
  return { raw: raw as Record<string, unknown>, file };
}

/** Parse with a zod schema; a failure names the file and every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, file: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new WhetstoneError('CONFIG_INVALID', `${file}: ${problems.join('; ')}`);
  }
  return result.data;
}

/** eos_token_id may be a number, a list or null. */
export function eosList(value: number | number[] | null | undefined): number[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
