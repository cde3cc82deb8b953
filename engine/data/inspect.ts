// `whetstone data inspect`: what Whetstone understood of a dataset file — the detected format
// and its confidence, columns, row count, field statistics, the first rows rendered with the
// template and their loss-mask spans, token-length statistics (with a tokenizer), and every
// validation problem grouped and counted.
import type { TextTokenizer } from '../io/tokenizer.js';
import type { DataChoices, Detection } from './detect.js';
import { detectFile, readExamples } from './examples.js';
import { FieldStats, type FieldStat } from './field-stats.js';
import { fileTypeOf, type FileType } from './read-rows.js';
import { ProblemLog, type ProblemGroup, type RowProblem } from './problems.js';
import { tryRender, type Segment } from './render.js';
import {
  lengthStats,
  targetCount,
  tokenizeRendered,
  type LengthStats,
  type TokenizeOptions,
} from './tokenize.js';

export interface InspectOptions extends DataChoices, Partial<Omit<TokenizeOptions, 'seqLen'>> {
  /** Rows to show rendered. */
  rows: number;
  /** Stop after this many rows (default: read the whole file). */
  limit?: number;
  tokenizer?: TextTokenizer;
  seqLen: number;
}

export interface PreviewRow {
  line: number;
  /** The rendered text in order; `train` spans are what the loss is computed on. */
  segments: Segment[];
  /** With a tokenizer: tokens with their text and whether each is a target. */
  tokens?: { id: number; text: string; train: boolean }[];
}

export interface InspectReport {
  file: string;
  fileType: FileType;
  format: string;
  task?: string;
  template?: boolean;
  confidence: number;
  considered: Detection['considered'];
  columns: string[];
  /** Records read, valid or not (unreadable ones included). */
  rows: number;
  /** Records the reader could not read at all (bad JSON, a CSV row that does not fit the header). */
  unreadable: number;
  validRows: number;
  /** True when --limit stopped the reading early. */
  partial: boolean;
  fields: FieldStat[];
  preview: PreviewRow[];
  tokens?: LengthStats & { seqLen: number; truncated: number };
  problems: { total: number; groups: ProblemGroup[]; first: RowProblem[] };
}

export async function inspectDataset(file: string, opts: InspectOptions): Promise<InspectReport> {
  const fileType = fileTypeOf(file);
  const detection = await detectFile(file, opts);
  const problems = new ProblemLog();
  const fields = new FieldStats();
  const preview: PreviewRow[] = [];
  const lengths: number[] = [];
  let targets = 0;
  let truncated = 0;
  let valid = 0;
  const tokenizeOpts: TokenizeOptions = {
    seqLen: opts.seqLen,
    overLength: opts.overLength ?? 'truncate',
    trainOn: opts.trainOn ?? 'completion',
  };
  const tokenizer = opts.tokenizer;
  const limit = opts.limit ?? Infinity;
  let unreadable = 0;
  const examples = readExamples(file, detection, problems.add, {
    onRow: fields.add,
    onUnreadable: () => unreadable++,
    limit,
  });
  for await (const { line, unit, example } of examples) {
    const rendered = tryRender(example, tokenizer);
    if ('error' in rendered) {
      problems.add({ file, line, ...(unit && { unit }), message: rendered.error });
      continue;
    }
    valid++;
    for (const turn of rendered.unmatched ?? []) {
      problems.add({
        file,
        line,
        ...(unit && { unit }),
        field: `messages[${turn}]`,
        message: 'assistant turn not found in the chat template output (not trained)',
      });
    }
    let row: PreviewRow | undefined;
    if (preview.length < opts.rows) {
      row = { line, segments: rendered.segments };
      preview.push(row);
    }
    if (tokenizer) {
      const result = tokenizeRendered(rendered, tokenizer, tokenizeOpts);
      lengths.push(result.length);
      if (!result.ok) problems.add({ file, line, ...(unit && { unit }), message: result.reason });
      else {
        if (result.truncated) truncated++;
        targets += targetCount(result.example);
        if (row) {
          row.tokens = result.example.ids.map((id, i) => ({
            id,
            text: tokenizer.decode([id]),
            train: result.example.mask[i] === 1,
          }));
        }
      }
    }
  }
  const partial = fields.rows >= limit;
  const spec = detection.spec;
  return {
    file,
    fileType,
    format: spec.format,
    ...(spec.task && { task: spec.task.name, template: spec.useTemplate !== false }),
    confidence: detection.confidence,
    considered: detection.considered,
    columns: detection.columns,
    rows: fields.rows + unreadable,
    unreadable,
    validRows: valid,
    partial,
    fields: fields.result(),
    preview,
    ...(tokenizer && {
      tokens: { ...lengthStats(lengths, opts.seqLen, targets), seqLen: opts.seqLen, truncated },
    }),
    problems: { total: problems.total, groups: problems.grouped(), first: problems.kept },
  };
}
