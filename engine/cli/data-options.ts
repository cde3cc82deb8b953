// CLI flags for the dataset options (engine/data/options.ts) that train, eval and data inspect share.
import type { CommandDef } from './commands.js';

export const dataOptions: CommandDef['options'] = {
  format: [
    'format',
    'string',
    'text | alpaca | chat | completion | classification (default: detected)',
  ],
  columns: [
    'columns',
    'string',
    'map fields to columns: role=column,... (e.g. text=review,label=stars)',
  ],
  template: [
    'template',
    'string',
    'task template: sst2 | rte | cb | boolq | copa | winogrande | multirc, or "{column} ..." text ({mask}: where a masked LM answers)',
  ],
  'label-words': [
    'labelWords',
    'string',
    'label words of a custom template: terrible,great or 0=terrible,1=great',
  ],
  'no-template': [
    'noTemplate',
    'boolean',
    'classification without the template phrasing (the ablation; a masked LM gets a classification head)',
  ],
  'over-length': ['overLength', 'string', 'rows longer than --seq: truncate (default) | drop'],
  'train-on': [
    'trainOn',
    'string',
    'loss on: completion (answers, assistant turns; default) | all tokens',
  ],
  encoding: ['encoding', 'string', "the file's text: utf-8 (default) | latin1 | utf-16le"],
};

/** Batching choices only training makes. */
export const batchingOptions: CommandDef['options'] = {
  pack: ['pack', 'boolean', 'concatenate short examples into full rows'],
  dedup: ['dedup', 'boolean', 'leave out exact duplicate rows'],
};
