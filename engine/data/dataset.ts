// The training data pipeline: read any supported file, detect its format, validate every row,
// render with templates, tokenise with loss masks, optionally de-duplicate, split train and
// held-out rows by a seeded shuffle, and optionally pack. Plain text JSONL gives the same
// sequences, split and order as before the pipeline existed.
import { createHash } from 'node:crypto';
import { WhetstoneError } from '../errors.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { permutation } from '../train/text-data.js';
import { Rng } from '../util/rng.js';
import type { DataChoices, Detection } from './detect.js';
import { detectFile, readExamples } from './examples.js';
import { describeProblems, ProblemLog } from './problems.js';
import { noMaskedForm, type Example } from './formats.js';
import { heldOutDraw, tokenizeForMaskedLm, type MaskedObjective } from './masked.js';
import type { MlmMasking } from '../train/mlm-masking.js';
import { tryRender } from './render.js';
import type { TaskTemplate } from './task-templates.js';
import {
  lengthStats,
  packExamples,
  targetCount,
  tokenizeRendered,
  type LengthStats,
  type TokenizedExample,
  type TokenizeOptions,
} from './tokenize.js';

export interface DatasetOptions extends DataChoices, Partial<Omit<TokenizeOptions, 'seqLen'>> {
  seqLen: number;
  /** Fraction of rows held out for evaluation (0 for none). */
  evalFraction: number;
  seed: number;
  /** Leave out exact duplicate examples. */
  dedup?: boolean;
  /** Concatenate short examples into rows of seqLen. */
  pack?: boolean;
  /** The model is a masked LM: its tokens for MLM (text) and its mask (classification). */
  masked?: MlmMasking;
}

export interface Dataset {
  detection: Detection;
  train: TokenizedExample[];
  eval: TokenizedExample[];
  /** The held-out rows as read, in the order of `eval` before packing (accuracy scores these). */
  evalSources: Example[];
  stats: LengthStats;
  /** Rows cut to the sequence length. */
  truncated: number;
  duplicates: number;
  problems: ProblemLog;
  /** Masked LMs: what the rows train (MLM, label words at the mask, or a head). */
  objective?: MaskedObjective;
}

export async function loadDataset(
  file: string,
  tokenizer: TextTokenizer,
  opts: DatasetOptions,
): Promise<Dataset> {
  const found = await detectFile(file, opts);
  const detection = opts.masked ? { ...found, spec: { ...found.spec, masked: true } } : found;
  const task = detection.spec.task;
  if (opts.masked && task && detection.spec.useTemplate !== false && !task.masked) {
    throw noMaskedForm(task.name);
  }
  let objective: MaskedObjective | undefined;
  const problems = new ProblemLog();
  const tokenizeOpts: TokenizeOptions = {
    seqLen: opts.seqLen,
    overLength: opts.overLength ?? 'truncate',
    trainOn: opts.trainOn ?? 'completion',
  };
  const seen = new Set<string>();
  const examples: TokenizedExample[] = [];
  const sources: Example[] = [];
  const lengths: number[] = [];
  let truncated = 0;
  let duplicates = 0;
  let targets = 0;
  for await (const { line, unit, example } of readExamples(file, detection, problems.add)) {
    if (opts.dedup) {
      const key = createHash('sha1').update(JSON.stringify(example)).digest('base64');
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
    }
    const where = { file, line, ...(unit && { unit }) };
    let result;
    if (opts.masked) {
      const read = tokenizeForMaskedLm(example, tokenizer, opts.masked, opts.seqLen);
      objective ??= read.objective;
      result = read.result;
    } else {
      const rendered = tryRender(example, tokenizer);
      if ('error' in rendered) {
        problems.add({ ...where, message: rendered.error });
        continue;
      }
      for (const turn of rendered.unmatched ?? []) {
        problems.add({
          ...where,
          field: `messages[${turn}]`,
          message: 'assistant turn not found in the chat template output (not trained)',
        });
      }
      result = tokenizeRendered(rendered, tokenizer, tokenizeOpts);
    }
    lengths.push(result.length);
    if (!result.ok) {
      problems.add({ ...where, message: result.reason });
      continue;
    }
    if (result.truncated) truncated++;
    targets += targetCount(result.example);
    examples.push(result.example);
    sources.push(example);
  }
  if (examples.length === 0) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file} has no usable rows (read as ${detection.spec.format}).${problems.total ? `\n${describeProblems(problems.kept, 5, problems.total)}` : ''}`,
      'Check the rows listed; `whetstone data inspect FILE` shows what was understood. Pick the format with --format and map columns with --columns.',
    );
  }
  const order = permutation(examples.length, new Rng(opts.seed ^ 0x5eed));
  const held = Math.min(examples.length - 1, Math.round(examples.length * opts.evalFraction));
  const heldOut = order.slice(0, held);
  let evalSet = heldOut.map((i) => examples[i]!);
  // MLM draws its masks per batch in training; held-out rows keep one fixed draw.
  if (objective?.kind === 'mlm') {
    const rng = new Rng(opts.seed ^ 0x3a5c);
    const { masking } = objective;
    evalSet = evalSet.map((e) => heldOutDraw(e.ids, masking, rng));
  }
  if (objective?.kind === 'head') objective = { kind: 'head', classes: classCount(task) };
  let train = order.slice(held).map((i) => examples[i]!);
  if (opts.pack) {
    train = packExamples(train, opts.seqLen);
    evalSet = packExamples(evalSet, opts.seqLen);
  }
  return {
    detection,
    train,
    eval: evalSet,
    evalSources: heldOut.map((i) => sources[i]!),
    stats: lengthStats(lengths, opts.seqLen, targets),
    truncated,
    duplicates,
    problems,
    ...(objective && { objective }),
  };
}

/** Classes of a task: its label indices. */
function classCount(task: TaskTemplate | undefined): number {
  return task ? Math.max(...Object.values(task.labels)) + 1 : 0;
}
