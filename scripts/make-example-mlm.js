#!/usr/bin/env node
// Pretrains the example masked LM, assets/models/whetstone-tiny-mlm: a small RoBERTa-layout model
// (4 layers, width 128, 1024-token byte-level BPE with <mask>, 0.95M parameters) trained from
// random weights by Whetstone's own trainer (`whetstone train` on plain text: masked-token
// prediction, 15% of tokens) on text that ships with the project: rows of short reviews from a
// seeded grammar (engine/fixtures/review-corpus.ts), each row holding reviews of one mood so that
// its remarks agree with its verdicts ("It was great." / "It was terrible."), and rows of the
// sentences of assets/datasets/sentiment.jsonl as plain text (their labels never reach the model).
// FO-AdamW, lr 1.5e-3 constant after 100 warmup steps, batch 32 rows of 64 tokens, native backend.
// Every --every steps it exports the model and prints the zero-shot accuracy of `--template sst2`
// on held-out grammar reviews (verdict removed) and on sentiment.jsonl.
// The shipped model is step 1400 of this recipe (about 20 minutes on a shared 2-core machine).
// Measured at each export (zero-shot accuracy, --template sst2):
//   step               200    400    600    800   1000   1200   1400
//   grammar held-out  0.50   0.68   0.68   0.78   0.72   0.76   0.86
//   sentiment.jsonl   0.50   0.64   0.53   0.52   0.51   0.60   0.66
// Before step 1400 the dataset's accuracy swings: at step 1000 the model calls 97% of its
// positive rows terrible. Mixed-mood rows (the previous recipe) stayed at 0.52 after 600 steps.
// Run: npm run build && node scripts/make-example-mlm.js [--out DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dist, root, shuffledRows, whetstone } from './example-pretraining.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    out: { type: 'string', default: join(root, 'assets', 'models', 'whetstone-tiny-mlm') },
    steps: { type: 'string', default: '1400' },
    every: { type: 'string', default: '200' },
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '128' },
    lr: { type: 'string', default: '1.5e-3' },
    batch: { type: 'string', default: '32' },
  },
});
const work = mkdtempSync(join(tmpdir(), 'whetstone-example-mlm-'));

const { reviewCorpus } = await dist('fixtures/review-corpus.js');
const { writeFixtureModel } = await dist('fixtures/fixture-model.js');
const dataset = join(root, 'assets', 'datasets', 'sentiment.jsonl');
// The dataset's sentences as text only: the labels never reach the model.
const sentences = readFileSync(dataset, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line).sentence);
// Rows of reviews that share a mood (two or three to a ~64-token row), so every remark in a row
// agrees with its verdicts, and rows of the dataset's sentences, shuffled together.
const reviews = reviewCorpus(30000, 31);
const rows = [];
for (const mood of [0, 1])
  rows.push(
    ...(await shuffledRows(
      reviews.filter((_, i) => i % 2 === mood),
      33 + mood,
      200,
      ' ',
    )),
  );
rows.push(...(await shuffledRows(Array.from({ length: 3 }, () => sentences).flat(), 35, 200, ' ')));
const shuffled = await shuffledRows(rows, 32, 0, ' '); // a limit of 0 keeps every row apart
const text = join(work, 'reviews.jsonl');
writeFileSync(text, shuffled.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
// Held-out reviews from another seed, as SST-2 rows (the verdict dropped, the mood the label).
const heldOut = reviewCorpus(200, 77).map((r, i) => ({
  sentence: r.replace(
    / (It was|All in all, it was) (great|terrible)[.!]$| (I loved it|I hated it|Highly recommended|Never again|I would go back tomorrow|I want my money back)\.$/,
    '',
  ),
  label: i % 2 === 0 ? 1 : 0,
}));
const grammar = join(work, 'held-out.jsonl');
writeFileSync(grammar, heldOut.map((r) => JSON.stringify(r)).join('\n') + '\n');

const init = join(work, 'init');
const { parameters } = await writeFixtureModel({
  arch: 'roberta',
  out: init,
  layers: Number(values.layers),
  hidden: Number(values.hidden),
  heads: 4,
  vocab: 1024,
  contextLength: 64,
  seed: 24,
  corpus: shuffled.join('\n'),
});
console.log(`${parameters} parameters, ${shuffled.length} rows`);

const run = join(work, 'run');
const every = Number(values.every);
const total = Number(values.steps);
// prettier-ignore
whetstone(
  'train', '--model', init, '--data', text, '--format', 'text', '--method', 'fo-adamw',
  '--schedule', 'constant', '--warmup', '100', '--lr', values.lr, '--max-grad-norm', '1',
  '--batch', values.batch, '--seq', '64', '--eval-fraction', '0.01', '--steps', String(every),
  '--eval-every', String(every), '--checkpoint-every', String(every), '--backend', values.backend, '--out', run,
);
for (let step = every; ; step += every) {
  whetstone('export', '--run', run, '--out', values.out, '--force', '--backend', values.backend);
  for (const data of [grammar, dataset])
    whetstone(
      'eval',
      '--model',
      values.out,
      '--data',
      data,
      '--template',
      'sst2',
      '--backend',
      values.backend,
    );
  console.log(`^ step ${step}`);
  if (step + every > total) break;
  whetstone('resume', '--run', run, '--steps', String(step + every));
}
rmSync(work, { recursive: true, force: true });
console.log(`wrote ${values.out}`);
