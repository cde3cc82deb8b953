#!/usr/bin/env node
// Pretrains the first-start example, assets/models/whetstone-tiny: a small Llama-layout model
// trained from random weights by Whetstone's own trainer (`whetstone train`, FO-AdamW) on text
// that ships with the project — short stories and descriptions from a seeded grammar
// (engine/fixtures/story-corpus.ts), the fixture corpus, and the sample datasets' texts as plain
// prose (no chat turns), repeated. Its byte-level BPE tokenizer is trained on the same text.
// Deterministic (seeded, one backend); about 13 minutes on one CPU core (wasm), measured on a
// shared 2-core machine: 12m25s of training, the rest tokenizer and export.
// Run: npm run build && node scripts/make-example-model.js [--steps 600] [--out DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dist, root, shuffledRows, whetstone } from './example-pretraining.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '600' },
    out: { type: 'string', default: join(root, 'assets', 'models', 'whetstone-tiny') },
  },
});
const work = mkdtempSync(join(tmpdir(), 'whetstone-example-'));

// The pretraining text, one {"text"} row per paragraph (packed into full rows by --pack).
const { FIXTURE_CORPUS } = await dist('fixtures/corpus.js');
const { storyCorpus } = await dist('fixtures/story-corpus.js');
const { writeFixtureModel } = await dist('fixtures/fixture-model.js');
const jsonl = (name) =>
  readFileSync(join(root, 'assets', 'datasets', name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
// The sample datasets' texts are repeated so that, as prose, they weigh about a fifth of the
// whole: the model can then write them, and the fine-tune mostly has to teach the chat turn.
const datasetProse = [
  ...jsonl('sentiment.jsonl').map((row) => row.sentence),
  ...jsonl('instructions.jsonl').flatMap((row) => [row.input, row.output]),
  ...jsonl('chat.jsonl').flatMap((row) => row.messages.map((m) => m.content)),
].filter((text) => text.trim() !== '');
const paragraphs = [
  ...storyCorpus(3000, 1),
  ...FIXTURE_CORPUS.split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 30),
  ...Array.from({ length: 20 }, () => datasetProse).flat(),
];
// Shuffled (seeded) and joined by blank lines into rows of up to ~1000 characters (~230 tokens):
// the model learns that a paragraph follows "\n\n", as it does after a chat template's header.
const rows = await shuffledRows(paragraphs, 11, 1000, '\n\n');
const data = join(work, 'pretrain.jsonl');
writeFileSync(data, rows.map((text) => JSON.stringify({ text })).join('\n') + '\n');
console.log(
  `${paragraphs.length} paragraphs in ${rows.length} rows, ${rows.join('\n').length} characters`,
);

// Random weights, and a 1024-token BPE trained on the pretraining text itself.
const init = join(work, 'init');
const { parameters } = await writeFixtureModel({
  arch: 'llama',
  out: init,
  layers: 4,
  hidden: 128,
  heads: 4,
  kvHeads: 2,
  vocab: 1024,
  contextLength: 256,
  seed: 7,
  corpus: rows.join('\n'),
});
console.log(`${parameters} parameters`);

const run = join(work, 'run');
whetstone(
  'train',
  '--model',
  init,
  '--data',
  data,
  '--method',
  'fo-adamw',
  '--lr',
  '4e-3',
  '--steps',
  values.steps,
  '--batch',
  '4',
  '--seq',
  '256',
  '--pack',
  '--schedule',
  'cosine',
  '--warmup',
  '50',
  '--max-grad-norm',
  '1',
  '--eval-every',
  '300',
  '--eval-fraction',
  '0.02',
  '--checkpoint-every',
  '300',
  '--backend',
  'wasm',
  '--out',
  run,
);
whetstone('export', '--run', run, '--out', values.out, '--force', '--backend', 'wasm');
rmSync(work, { recursive: true, force: true });
console.log(`wrote ${values.out}`);
