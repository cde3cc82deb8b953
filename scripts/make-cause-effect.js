#!/usr/bin/env node
// Writes assets/datasets/cause-effect.jsonl: 240 COPA-style rows about the story grammar's world
// (engine/fixtures/cause-effect-corpus.ts, seed 17), for `--template copa` on the example decoder.
// Run: npm run build && node scripts/make-cause-effect.js
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dist, root } from './example-pretraining.js';

const CAUSE_EFFECT = { count: 240, seed: 17 };

const { causeEffectRows } = await dist('fixtures/cause-effect-corpus.js');
const rows = causeEffectRows(CAUSE_EFFECT.count, CAUSE_EFFECT.seed);
const out = join(root, 'assets', 'datasets', 'cause-effect.jsonl');
writeFileSync(out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`wrote ${rows.length} rows to ${out}`);
