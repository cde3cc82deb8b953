// Tiny models every integration test shares, generated once per test run by global-setup.ts.
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

export function fixturePath(name: keyof typeof fixtureSpecs): string {
  return join(FIXTURES_DIR, name);
}
