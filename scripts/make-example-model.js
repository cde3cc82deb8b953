#!/usr/bin/env node
// Pretrains the first-start example, assets/models/whetstone-tiny: a 0.4M-parameter Llama-layout
// model with the fixture BPE tokenizer, trained from random weights by Whetstone's own trainer
// (FO-AdamW) on text that ships with the project — the fixture corpus, the README's prose and
// the sample reviews. Deterministic (seeded); about 10 minutes on two CPU cores.
// Run: npm run build && node scripts/make-example-model.js [--steps 300]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { steps: { type: 'string', default: '300' } } });
const out = join(root, 'assets', 'models', 'whetstone-tiny');
const work = mkdtempSync(join(tmpdir(), 'whetstone-example-'));
const whetstone = (...args) =>
  execFileSync(process.execPath, [join(root, 'bin', 'whetstone.js'), ...args], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });

// The pretraining text: paragraphs, one {"text"} row each (packed into full rows by --pack).
const { FIXTURE_CORPUS } = await import(
  pathToFileURL(join(root, 'dist', 'engine', 'fixtures', 'corpus.js')).href
);
const paragraphs = (text) =>
  text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 30);
const rows = [
  ...paragraphs(FIXTURE_CORPUS),
  ...paragraphs(readFileSync(join(root, 'README.md'), 'utf8')),
];
for (const line of readFileSync(join(root, 'assets', 'datasets', 'sentiment.jsonl'), 'utf8').split(
  '\n',
)) {
  if (line.trim() !== '') rows.push(JSON.parse(line).sentence);
}
const data = join(work, 'pretrain.jsonl');
writeFileSync(data, rows.map((text) => JSON.stringify({ text })).join('\n') + '\n');
console.log(`${rows.length} paragraphs, ${rows.join(' ').length} characters`);

const init = join(work, 'init');
whetstone(
  'fixture',
  '--arch',
  'llama',
  '--layers',
  '3',
  '--hidden',
  '96',
  '--heads',
  '4',
  '--vocab',
  '512',
  '--context',
  '128',
  '--seed',
  '7',
  '--out',
  init,
);
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
  '3e-3',
  '--steps',
  values.steps,
  '--batch',
  '8',
  '--seq',
  '96',
  '--pack',
  '--schedule',
  'cosine',
  '--warmup',
  '20',
  '--eval-every',
  '100',
  '--checkpoint-every',
  values.steps,
  '--out',
  run,
);
whetstone('export', '--run', run, '--out', out, '--force');
rmSync(work, { recursive: true, force: true });
console.log(`wrote ${out}`);
