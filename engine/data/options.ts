// The dataset options every data-reading job accepts (train, eval, data inspect), as zod fields
// for the JobSpec, and how they become the pipeline's choices.
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import type { DataChoices } from './detect.js';
import { textEncodings } from './encoding.js';
import { formatNames } from './formats.js';

export const dataFields = {
  /** The format, when detection should not decide. */
  format: z.enum(formatNames).optional(),
  /** Field role -> column: "text=review,label=stars" or {text: 'review', label: 'stars'}. */
  columns: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  /** Built-in task template (sst2, rte, cb, boolq, copa, winogrande, multirc) or "{col} ..." text. */
  template: z.string().min(1).optional(),
  /** Label words of a user template: "terrible,great" or "0=terrible,1=great". */
  labelWords: z.string().min(1).optional(),
  /** Classification without the template's phrasing (the ablation). */
  noTemplate: z.boolean().optional(),
  /** Rows longer than the sequence: cut (default) or leave out. */
  overLength: z.enum(['truncate', 'drop']).optional(),
  /** Loss on completions / assistant turns / label words (default), or on every token. */
  trainOn: z.enum(['completion', 'all']).optional(),
  /** Concatenate short examples into full rows. */
  pack: z.boolean().optional(),
  /** Leave out exact duplicate rows. */
  dedup: z.boolean().optional(),
  /** The file's text encoding (default UTF-8, read strictly). */
  encoding: z.enum(textEncodings).optional(),
};

type DataFieldValues = {
  [K in keyof typeof dataFields]?: z.infer<(typeof dataFields)[K]>;
};

/** The user's choices about a dataset, with a column mapping string parsed. */
export function dataChoices(spec: DataFieldValues): DataChoices {
  return {
    ...(spec.format && { format: spec.format }),
    ...(spec.columns !== undefined && { columns: parseColumns(spec.columns) }),
    ...(spec.template && { template: spec.template }),
    ...(spec.labelWords && { labelWords: spec.labelWords }),
    ...(spec.noTemplate && { noTemplate: true }),
    ...(spec.encoding && { encoding: spec.encoding }),
  };
}

function parseColumns(columns: string | Record<string, string>): Record<string, string> {
  if (typeof columns !== 'string') return columns;
  const out: Record<string, string> = {};
  for (const part of columns.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const role = part.slice(0, eq).trim();
    const column = part.slice(eq + 1).trim();
    if (eq < 0 || role === '' || column === '') {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `--columns "${columns}": "${part}" is not role=column.`,
        "E.g. --columns text=review,label=stars (roles: text, instruction, input, output, messages, prompt, completion, label, and a template's fields).",
      );
    }
    out[role] = column;
  }
  return out;
}
