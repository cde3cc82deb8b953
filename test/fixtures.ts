// Tiny models every integration test shares, generated once per test run by global-setup.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FixtureOptions } from '../engine/fixtures/fixture-model.js';

export const FIXTURES_DIR = join(import.meta.dirname, '..', '.fixtures');

/** Fixture name -> how to make it (`out` is added by the setup). */
export const fixtureSpecs: Record<string, Omit<FixtureOptions, 'out'>> = {
  llama: { arch: 'llama', seed: 1 },
  // Context 64 gives a sliding window of 16, so 40-token tests cross it.
  mistral: { arch: 'mistral', contextLength: 64, seed: 2 },
  qwen2: { arch: 'qwen2', seed: 3 },
  gpt2: { arch: 'gpt2', seed: 4 },
  opt: { arch: 'opt', seed: 5 },
  // opt-350m's layout: LayerNorm after each sub-block, embeddings projected in and out.
  'opt-post-ln': {
    arch: 'opt',
    seed: 6,
    configOverrides: { do_layer_norm_before: false, word_embed_proj_dim: 32 },
  },
  // Masked-LM encoders (engine/models/encoder.ts).
  roberta: { arch: 'roberta', seed: 10 },
  bert: { arch: 'bert', seed: 11 },
  'llama-sharded': { arch: 'llama', seed: 1, maxShardBytes: 64 * 1024 },
  'llama-f16': { arch: 'llama', seed: 1, dtype: 'F16' },
};

/** The architectures every numerical test runs over. */
export const architectureFixtures = [
  'llama',
  'mistral',
  'qwen2',
  'gpt2',
  'opt',
  'opt-post-ln',
] as const;

/** The masked-LM encoders, which every test of a method or scheme also runs over. */
export const encoderFixtures = ['roberta', 'bert'] as const;

export function fixturePath(name: keyof typeof fixtureSpecs): string {
  return join(FIXTURES_DIR, name);
}

/**
 * The 27M-parameter Llama of the memory tests: 8 blocks of width 512 and a 4096-token
 * vocabulary, so that the weights dominate a small batch's activations.
 */
export const memoryModelSpec: Omit<FixtureOptions, 'out'> = {
  arch: 'llama',
  layers: 8,
  hidden: 512,
  heads: 8,
  kvHeads: 4,
  vocab: 4096,
  seed: 9,
};

/** Short sentences on one theme, so a tiny model can learn something in a few steps. */
export const sharpeningSentences = [
  'The stone is flat and the blade is sharp.',
  'Water keeps the stone clean while you sharpen.',
  'A coarse stone removes metal and a fine stone polishes the edge.',
  'Hold the blade at a steady angle on the stone.',
  'Sharpen the blade on the coarse side first, then on the fine side.',
  'Wipe the blade and the stone when you are done.',
];

/** Write `rows` {"text": ...} lines cycling through the sentences; returns the file's path. */
export async function writeSentencesJsonl(dir: string, rows = 24): Promise<string> {
  const file = join(dir, 'texts.jsonl');
  const lines = Array.from({ length: rows }, (_, i) =>
    JSON.stringify({ text: sharpeningSentences[i % sharpeningSentences.length] }),
  );
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}
