#!/usr/bin/env node
// Pretrains the example masked LM, assets/models/whetstone-tiny-mlm: a small RoBERTa-layout model
// trained from random weights by Whetstone's own trainer (`whetstone train` on plain text, which
// a masked LM learns by masked-token prediction: 15% of tokens, 80% <mask> / 10% random / 10%
// kept) on text that ships with the project: short reviews from a seeded grammar
// (engine/fixtures/review-corpus.ts), stories from the first example's grammar
// (engine/fixtures/story-corpus.ts), and the sentences of assets/datasets/sentiment.jsonl as plain
// text without their labels. Its byte-level BPE tokenizer (1024 tokens with <mask>) is trained on
// the same text. Deterministic (seeded, one backend).
// Run: npm run build && node scripts/make-example-mlm.js [--steps 800] [--out DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dist, root, shuffledRows, whetstone } from './example-pretraining.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '800' },
    backend: { type: 'string', default: 'native' },
    out: { type: 'string', default: join(root, 'assets', 'models', 'whetstone-tiny-mlm') },
  },
});
const work = mkdtempSync(join(tmpdir(), 'whetstone-example-mlm-'));

const { reviewCorpus } = await dist('fixtures/review-corpus.js');
const { storyCorpus } = await dist('fixtures/story-corpus.js');
const { writeFixtureModel } = await dist('fixtures/fixture-model.js');
// The dataset's sentences as text only: the labels never reach the model.
const sentences = readFileSync(join(root, 'assets', 'datasets', 'sentiment.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line).sentence);
const paragraphs = [
  ...reviewCorpus(8000, 21),
  ...storyCorpus(1000, 22),
  ...Array.from({ length: 3 }, () => sentences).flat(),
];
// Shuffled (seeded) and joined into rows of up to ~400 characters (~100 tokens); --pack fills
// each 128-token row.
const rows = await shuffledRows(paragraphs, 23, 400, ' ');
const data = join(work, 'pretrain.jsonl');
writeFileSync(data, rows.map((text) => JSON.stringify({ text })).join('\n') + '\n');
console.log(
  `${paragraphs.length} paragraphs in ${rows.length} rows, ${rows.join('\n').length} characters`,
);

const init = join(work, 'init');
const { parameters } = await writeFixtureModel({
  arch: 'roberta',
  out: init,
  layers: 4,
  hidden: 128,
  heads: 4,
  vocab: 1024,
  contextLength: 128,
  seed: 24,
  corpus: rows.join('\n'),
});
console.log(`${parameters} parameters`);

const run = join(work, 'run');
// prettier-ignore
whetstone(
  'train', '--model', init, '--data', data, '--format', 'text',
  '--method', 'fo-adamw', '--lr', '1.5e-3', '--steps', values.steps, '--batch', '16', '--seq', '128',
  '--pack', '--schedule', 'cosine', '--warmup', '50', '--max-grad-norm', '1',
  '--eval-every', '400', '--eval-fraction', '0.02', '--checkpoint-every', '400',
  '--backend', values.backend, '--out', run,
);
whetstone('export', '--run', run, '--out', values.out, '--force', '--backend', values.backend);
rmSync(work, { recursive: true, force: true });
console.log(`wrote ${values.out}`);
