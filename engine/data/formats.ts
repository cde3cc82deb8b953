// The dataset formats and how a raw record becomes an Example, with every problem found on the
// way (missing fields, empty texts, unknown roles, labels outside the label set) reported by
// file, line and field. A column mapping renames the fields each format reads.
import { WhetstoneError } from '../errors.js';
import type { ChatMessage } from '../io/tokenizer.js';
import type { RowProblem } from './problems.js';
import type { SourceRow } from './source.js';
import type { Candidate, MaskedPrompt, TaskTemplate } from './task-templates.js';

export const formatNames = ['text', 'alpaca', 'chat', 'completion', 'classification'] as const;
export type FormatName = (typeof formatNames)[number];

export type Example =
  | { kind: 'text'; text: string }
  | { kind: 'alpaca'; instruction: string; input: string; output: string; system?: string }
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'completion'; prompt: string; completion: string }
  | {
      kind: 'classification';
      /** The decoder's candidates (none when the rows are read for a masked LM). */
      candidates: Candidate[];
      label: number;
      /** Read for a masked LM with the template: the row with its mask and label words. */
      masked?: MaskedPrompt;
      /** Read for a masked LM without the template: the inputs, for a classification head. */
      inputs?: string[];
    };

/** A format with its fields mapped to columns (role -> column name). */
export interface FormatSpec {
  format: FormatName;
  /** Field role -> column; roles not listed read the column of the same name. */
  mapping: Record<string, string>;
  /** Classification only: the task template. */
  task?: TaskTemplate;
  /** Classification only: phrase rows with the template (true) or plainly (the ablation). */
  useTemplate?: boolean;
  /** Classification only: rows are for a masked LM (the template's masked form, or a head). */
  masked?: boolean;
}

export const chatRoles = ['system', 'user', 'assistant', 'tool'] as const;
/** ShareGPT's speaker names, and other common spellings, to chat roles. */
const roleAliases: Record<string, string> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  model: 'assistant',
  bot: 'assistant',
  chatgpt: 'assistant',
  system: 'system',
  tool: 'tool',
  function: 'tool',
  observation: 'tool',
};

type Report = (field: string | undefined, message: string) => void;

/** Turn one record into an Example; problems go to `onProblem` and the row is skipped. */
export function toExample(
  row: SourceRow,
  spec: FormatSpec,
  file: string,
  onProblem: (p: RowProblem) => void,
): Example | undefined {
  let ok = true;
  const report: Report = (field, message) => {
    ok = false;
    onProblem({
      file,
      line: row.line,
      ...(row.unit && { unit: row.unit }),
      ...(field !== undefined && { field }),
      message,
    });
  };
  const value = row.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    report(undefined, 'expected a record (a JSON object, or a row with a header)');
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const col = (role: string) => spec.mapping[role] ?? role;
  const text = (role: string, opts: { optional?: boolean; allowEmpty?: boolean } = {}) => {
    const name = col(role);
    const v = record[name];
    if (v === undefined || v === null) {
      if (!opts.optional) report(name, 'missing');
      return '';
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      report(name, 'must be text');
      return '';
    }
    const s = String(v);
    if (!opts.allowEmpty && !opts.optional && s.trim() === '') report(name, 'empty');
    return s;
  };

  let example: Example | undefined;
  switch (spec.format) {
    case 'text':
      example = { kind: 'text', text: text('text') };
      break;
    case 'completion':
      example = { kind: 'completion', prompt: text('prompt'), completion: text('completion') };
      break;
    case 'alpaca': {
      const system = text('system', { optional: true });
      example = {
        kind: 'alpaca',
        instruction: text('instruction'),
        input: text('input', { optional: true }),
        output: text('output'),
        ...(system.trim() !== '' && { system }),
      };
      break;
    }
    case 'chat':
      example = chatExample(record, col, report);
      break;
    case 'classification':
      example = classificationExample(spec, text, report);
      break;
  }
  return ok ? example : undefined;
}

/** The column holding a conversation: mapped, else `messages`, else ShareGPT's `conversations`. */
export function chatColumn(record: Record<string, unknown>, col: (role: string) => string): string {
  const mapped = col('messages');
  if (mapped !== 'messages' || 'messages' in record) return mapped;
  return 'conversations' in record ? 'conversations' : 'messages';
}

function chatExample(
  record: Record<string, unknown>,
  col: (role: string) => string,
  report: Report,
): Example | undefined {
  const name = chatColumn(record, col);
  const list = record[name];
  if (list === undefined) {
    report(name, 'missing');
    return undefined;
  }
  if (!Array.isArray(list) || list.length === 0) {
    report(name, 'must be a non-empty list of messages');
    return undefined;
  }
  const messages: ChatMessage[] = [];
  list.forEach((m: unknown, i) => {
    const at = `${name}[${i}]`;
    if (typeof m !== 'object' || m === null) return report(at, 'must be an object');
    const msg = m as Record<string, unknown>;
    // OpenAI style {role, content} or ShareGPT style {from, value}.
    const roleKey = 'role' in msg ? 'role' : 'from';
    const contentKey = 'content' in msg || roleKey === 'role' ? 'content' : 'value';
    const rawRole = msg[roleKey];
    const role = typeof rawRole === 'string' ? roleAliases[rawRole.toLowerCase()] : undefined;
    if (role === undefined) {
      const known = Object.keys(roleAliases).join(', ');
      return report(
        `${at}.${roleKey}`,
        rawRole === undefined
          ? 'missing'
          : `unknown role ${JSON.stringify(rawRole)} (known: ${known})`,
      );
    }
    const content = msg[contentKey];
    if (typeof content !== 'string') {
      return report(`${at}.${contentKey}`, content === undefined ? 'missing' : 'must be text');
    }
    if (content.trim() === '' && role !== 'assistant')
      return report(`${at}.${contentKey}`, 'empty');
    if (content.trim() === '') return report(`${at}.${contentKey}`, 'empty assistant turn');
    messages.push({ role, content });
  });
  if (messages.length === list.length && !messages.some((m) => m.role === 'assistant')) {
    report(name, 'no assistant turn to learn from');
  }
  return { kind: 'chat', messages };
}

function classificationExample(
  spec: FormatSpec,
  text: (role: string, opts?: { optional?: boolean; allowEmpty?: boolean }) => string,
  report: Report,
): Example | undefined {
  const task = spec.task;
  if (!task) return undefined;
  const fields: Record<string, string> = {};
  for (const f of task.fields) fields[f] = text(f);
  const labelColumn = spec.mapping[task.labelField] ?? task.labelField;
  const rawLabel = text(task.labelField);
  const label = task.labels[rawLabel.trim().toLowerCase()];
  if (rawLabel.trim() !== '' && label === undefined) {
    const set = [...new Set(Object.keys(task.labels))].join(', ');
    report(labelColumn, `label ${JSON.stringify(rawLabel)} is not in the label set (${set})`);
  }
  if (label === undefined || Object.values(fields).some((v) => v.trim() === '')) return undefined;
  try {
    if (spec.masked) {
      if (spec.useTemplate === false) {
        return {
          kind: 'classification',
          candidates: [],
          label,
          inputs: task.fields.map((f) => fields[f]!),
        };
      }
      if (!task.masked) throw noMaskedForm(task.name);
      return { kind: 'classification', candidates: [], label, masked: task.masked(fields) };
    }
    const candidates = spec.useTemplate === false ? task.plain(fields) : task.candidates(fields);
    return { kind: 'classification', candidates, label };
  } catch (err) {
    report(undefined, (err as Error).message);
    return undefined;
  }
}

/** A template whose answers are longer than one word cannot be asked at one mask. */
export const noMaskedForm = (name: string) =>
  new WhetstoneError(
    'BAD_ARGUMENT',
    `The ${name} template has no masked form: its answers are whole phrases, not one word at a mask.`,
    'For a masked language model use --no-template (a classification head on the first token), or a template with one-word answers.',
  );
