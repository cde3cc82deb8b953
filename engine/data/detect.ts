// Format detection: which format a file is in, judged from its columns and checked on the
// first rows (the confidence is the signal's strength times the share of rows that read
// cleanly), and overridable by the user's format, column mapping and template.
import { WhetstoneError } from '../errors.js';
import type { TextEncoding } from './encoding.js';
import { toExample, type FormatName, type FormatSpec } from './formats.js';
import type { SourceRow } from './source.js';
import { builtinTemplates, userTemplate, type TaskTemplate } from './task-templates.js';

/** What the user said about the data (all optional; detection fills the rest). */
export interface DataChoices {
  format?: FormatName;
  /** Field role -> column, e.g. {text: 'review', label: 'stars'}. */
  columns?: Record<string, string>;
  /** A built-in task template (sst2, rte, ...) or a prompt with {column} placeholders. */
  template?: string;
  /** Label words for a user template: "terrible,great" or "0=terrible,1=great". */
  labelWords?: string;
  /** Classification without the template's phrasing (the ablation). */
  noTemplate?: boolean;
  /** The file's text encoding (default UTF-8). */
  encoding?: TextEncoding;
}

export interface Detection {
  spec: FormatSpec;
  /** 0..1: how strongly the columns point at the format times the share of rows it reads. */
  confidence: number;
  /** Every format that was considered, best first. */
  considered: { format: FormatName; task?: string; confidence: number }[];
  columns: string[];
  /** The encoding the rows were read with, for every later read of the file. */
  encoding?: TextEncoding;
}

interface Guess {
  format: FormatName;
  task?: TaskTemplate;
  mapping: Record<string, string>;
  strength: number;
}

export function detectFormat(
  rows: SourceRow[],
  file: string,
  choices: DataChoices = {},
): Detection {
  const columns = columnsOf(rows);
  const has = (c: string) => columns.includes(c);
  const mapping = { ...choices.columns };
  const col = (role: string) => mapping[role] ?? role;
  const labels = new Set(
    rows.map((r) => labelText((r.value as Record<string, unknown>)?.[col('label')])),
  );
  const guesses: Guess[] = [];
  const userTask = taskFromChoice(choices, labels);
  if (userTask) {
    guesses.push({ format: 'classification', task: userTask, mapping, strength: 1 });
  }
  if (has(col('messages')) || has('conversations'))
    guesses.push({ format: 'chat', mapping, strength: 0.98 });
  if (has(col('instruction')) && has(col('output')))
    guesses.push({ format: 'alpaca', mapping, strength: 0.95 });
  if (has(col('prompt')) && has(col('completion')))
    guesses.push({ format: 'completion', mapping, strength: 0.95 });
  for (const task of Object.values(builtinTemplates)) {
    if (task.fields.every((f) => has(col(f))) && has(col(task.labelField)))
      guesses.push({ format: 'classification', task, mapping, strength: 0.9 });
  }
  // Google's BoolQ names its label `answer` (true/false).
  if (has('passage') && has('question') && has('answer') && !has(col('label'))) {
    const m = { label: 'answer', ...mapping };
    guesses.push({
      format: 'classification',
      task: builtinTemplates.boolq,
      mapping: m,
      strength: 0.85,
    });
  }
  // Common column names of the same roles (GLUE's sentence1/2, a generic text/label pair).
  const hasLabel = has(col('label'));
  const binary = [...labels].every((l) => ['0', '1', 'negative', 'positive'].includes(l));
  if (hasLabel && has('sentence1') && has('sentence2') && binary) {
    const m = { premise: 'sentence1', hypothesis: 'sentence2', ...mapping };
    guesses.push({
      format: 'classification',
      task: builtinTemplates.rte,
      mapping: m,
      strength: 0.7,
    });
  }
  if (hasLabel && has(col('text'))) {
    const m = { sentence: col('text'), ...mapping };
    const task = binary ? builtinTemplates.sst2! : genericTask(labels);
    guesses.push({ format: 'classification', task, mapping: m, strength: binary ? 0.8 : 0.6 });
  }
  if (has(col('text'))) guesses.push({ format: 'text', mapping, strength: hasLabel ? 0.5 : 0.9 });
  const strings = columns.filter((c) =>
    rows.every((r) => typeof (r.value as Record<string, unknown>)?.[c] === 'string'),
  );
  if (!has(col('text')) && strings.length === 1) {
    guesses.push({ format: 'text', mapping: { text: strings[0]!, ...mapping }, strength: 0.6 });
  }

  // A template the user named decides the format (classification) and the task.
  const wanted = userTask ? 'classification' : choices.format;
  const scored = guesses
    .filter((g) => (userTask ? g.task === userTask : wanted === undefined || g.format === wanted))
    .map((g) => {
      const spec: FormatSpec = {
        format: g.format,
        mapping: g.mapping,
        ...(g.task && { task: g.task, useTemplate: !choices.noTemplate }),
      };
      let clean = 0;
      for (const row of rows) if (toExample(row, spec, file, () => undefined)) clean++;
      const share = rows.length === 0 ? 0 : clean / rows.length;
      return { spec, confidence: g.strength * share };
    })
    .sort((a, b) => b.confidence - a.confidence);
  const best = scored[0];
  if (best === undefined || (wanted === undefined && best.confidence === 0)) {
    if (wanted !== undefined) return forced(wanted, mapping, choices, labels, columns);
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file}: cannot tell the format from its columns (${columns.join(', ') || 'none'}).`,
      'Name it with --format text|alpaca|chat|completion|classification, and map columns with --columns role=column (e.g. text=review,label=stars).',
    );
  }
  return {
    spec: best.spec,
    confidence: round(best.confidence),
    considered: scored.map((s) => ({
      format: s.spec.format,
      ...(s.spec.task && { task: s.spec.task.name }),
      confidence: round(s.confidence),
    })),
    columns,
  };
}

/** A format the user named although the columns do not fit: its problems will say why. */
function forced(
  format: FormatName,
  mapping: Record<string, string>,
  choices: DataChoices,
  labels: Set<string>,
  columns: string[],
): Detection {
  const task =
    format === 'classification'
      ? (taskFromChoice(choices, labels) ?? builtinTemplates.sst2)
      : undefined;
  const spec: FormatSpec = {
    format,
    mapping,
    ...(task && { task, useTemplate: !choices.noTemplate }),
  };
  return { spec, confidence: 0, considered: [{ format, confidence: 0 }], columns };
}

function taskFromChoice(choices: DataChoices, labels: Set<string>): TaskTemplate | undefined {
  const t = choices.template;
  if (t === undefined) return undefined;
  const builtin = builtinTemplates[t.toLowerCase()];
  if (builtin) return builtin;
  if (!t.includes('{')) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Unknown template "${t}".`,
      `Built-in templates: ${Object.keys(builtinTemplates).join(', ')}; or write your own with {column} placeholders.`,
    );
  }
  const words =
    choices.labelWords ??
    [...labels]
      .filter((l) => l !== '')
      .sort()
      .join(',');
  return userTemplate(t, words);
}

/** Text + label with labels other than 0/1: the labels themselves are the answers. */
function genericTask(labels: Set<string>): TaskTemplate {
  const words = [...labels].filter((l) => l !== '').sort();
  const pairs = words.length >= 2 ? words.map((w) => `${w}=${w}`).join(',') : 'a,b';
  const task = userTemplate('{sentence}\nLabel:', pairs);
  return { ...task, name: 'text-label' };
}

/** Column names over the sampled records, in first-seen order. */
export function columnsOf(rows: SourceRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) {
    if (typeof r.value === 'object' && r.value !== null && !Array.isArray(r.value))
      for (const k of Object.keys(r.value)) seen.add(k);
  }
  return [...seen];
}

/** A label cell as the text label sets are keyed by. */
function labelText(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v).toLowerCase()
    : '';
}

const round = (x: number) => Math.round(x * 1000) / 1000;
