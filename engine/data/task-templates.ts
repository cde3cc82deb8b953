// Task alignment: classification rows phrased as next-token prediction over label words, so
// zeroth-order methods see a task shaped like pre-training (MeZO's templates). Each template
// turns a row into candidates (context + continuation); the label picks the right one. For
// masked language models the same template has a masked form: the text with one mask token,
// whose label words are compared there (MeZO's RoBERTa templates, after LM-BFF).
import { WhetstoneError } from '../errors.js';

/** One answer a model can give: the continuation is scored (or trained) after the context. */
export interface Candidate {
  context: string;
  continuation: string;
}

export type Fields = Record<string, string>;

/**
 * A row as a masked LM reads it: `before`, the mask token, `after`; the label words (in
 * label-index order) are the answers at the mask, each one token of the model's vocabulary.
 * A word carries its own leading space, so `before` never ends in one.
 */
export interface MaskedPrompt {
  before: string;
  after: string;
  words: string[];
}

export interface TaskTemplate {
  name: string;
  /** Fields the template reads (column names the mapping may rename), label field excluded. */
  fields: string[];
  /** The field holding the label. */
  labelField: string;
  /** Accepted label values (as text, lower-cased) -> candidate index. */
  labels: Record<string, number>;
  /** Candidates phrased as the template says, in label-index order. */
  candidates(row: Fields): Candidate[];
  /** The ablation: the same inputs and answers without the task's phrasing. */
  plain(row: Fields): Candidate[];
  /** The masked-LM form; absent where the answers are longer than one word (COPA, WinoGrande). */
  masked?(row: Fields): MaskedPrompt;
}

/** A sentence without its final punctuation, for a template that continues it. */
const unpunctuated = (text: string) => text.trim().replace(/[.?!]+$/, '');

const yesNo = (context: string) => ['Yes', 'No'].map((w) => ({ context, continuation: w }));

/** The inputs one per line, then the answer on its own line: no task phrasing at all. */
const plainCandidates =
  (fields: string[], answers: (row: Fields) => string[]) =>
  (row: Fields): Candidate[] => {
    const context = fields.map((f) => row[f]!.trim()).join('\n') + '\n';
    return answers(row).map((continuation) => ({ context, continuation }));
  };

const sst2: TaskTemplate = {
  name: 'sst2',
  fields: ['sentence'],
  labelField: 'label',
  labels: { '0': 0, '1': 1, negative: 0, positive: 1 },
  candidates: (r) =>
    [' terrible', ' great'].map((w) => ({
      context: `${r.sentence!.trim()} It was`,
      continuation: w,
    })),
  plain: plainCandidates(['sentence'], () => ['0', '1']),
  masked: (r) => ({
    before: `${r.sentence!.trim()} It was`,
    after: '.',
    words: [' terrible', ' great'],
  }),
};

/** LM-BFF's entailment form: "premise? <mask>, hypothesis" with the answer words at the mask. */
const entailment =
  (words: string[]) =>
  (r: Fields): MaskedPrompt => ({
    before: `${unpunctuated(r.premise!)}?`,
    after: `, ${lowerFirst(r.hypothesis!)}`,
    words,
  });

const rte: TaskTemplate = {
  name: 'rte',
  fields: ['premise', 'hypothesis'],
  labelField: 'label',
  labels: { '0': 0, '1': 1, entailment: 0, not_entailment: 1 },
  candidates: (r) =>
    yesNo(`${r.premise}\nDoes this mean that "${r.hypothesis}" is true? Yes or No?\n`),
  plain: plainCandidates(['premise', 'hypothesis'], () => ['0', '1']),
  masked: entailment(['Yes', 'No']),
};

const cb: TaskTemplate = {
  name: 'cb',
  fields: ['premise', 'hypothesis'],
  labelField: 'label',
  labels: { '0': 0, '1': 1, '2': 2, entailment: 0, contradiction: 1, neutral: 2 },
  candidates: (r) => {
    const context = `Suppose ${r.premise} Can we infer that "${r.hypothesis}"? Yes, No, or Maybe?\n`;
    return ['Yes', 'No', 'Maybe'].map((w) => ({ context, continuation: w }));
  },
  plain: plainCandidates(['premise', 'hypothesis'], () => ['0', '1', '2']),
  masked: entailment(['Yes', 'No', 'Maybe']),
};

// BoolQ's label 1 (true) is "Yes": candidates in label order are No, Yes. Its questions are
// stored lower-case without "?"; MeZO capitalises them and adds the mark.
const boolq: TaskTemplate = {
  name: 'boolq',
  fields: ['passage', 'question'],
  labelField: 'label',
  labels: { '0': 0, '1': 1, false: 0, true: 1, no: 0, yes: 1 },
  candidates: (r) => {
    const context = `${r.passage} ${boolqQuestion(r.question!)}\n`;
    return ['No', 'Yes'].map((w) => ({ context, continuation: w }));
  },
  plain: plainCandidates(['passage', 'question'], () => ['0', '1']),
  masked: (r) => ({
    before: `${r.passage!.trim()} Question: ${boolqQuestion(r.question!)} Answer:`,
    after: '.',
    words: [' No', ' Yes'],
  }),
};

function boolqQuestion(question: string): string {
  const q = question.trim();
  const capital = q.charAt(0).toUpperCase() + q.slice(1);
  return capital.endsWith('?') ? capital : `${capital}?`;
}

/** COPA: "the candidate with its first letter lower-cased (unless the word is "I")". */
function lowerFirst(text: string): string {
  const t = text.trim();
  return /^I\b/.test(t) ? t : t.charAt(0).toLowerCase() + t.slice(1);
}

const copa: TaskTemplate = {
  name: 'copa',
  fields: ['premise', 'choice1', 'choice2', 'question'],
  labelField: 'label',
  labels: { '0': 0, '1': 1 },
  candidates: (r) => {
    const premise = r.premise!.trim().replace(/\.$/, '');
    const joiner = copaJoiner(r.question!);
    // The joiner's trailing space goes with the candidate, as a word-initial space.
    return [r.choice1!, r.choice2!].map((c) => ({
      context: `${premise}${joiner.trimEnd()}`,
      continuation: ` ${lowerFirst(c)}`,
    }));
  },
  plain: (r) =>
    [r.choice1!, r.choice2!].map((c) => ({
      context: `${r.premise!.trim()}\n${r.question!.trim()}\n`,
      continuation: c.trim(),
    })),
};

function copaJoiner(question: string): string {
  const q = question.trim().toLowerCase();
  if (q === 'effect') return ' so ';
  if (q === 'cause') return ' because ';
  throw new WhetstoneError(
    'DATASET_INVALID',
    `COPA question must be "cause" or "effect", got "${question}".`,
  );
}

// WinoGrande: the blank `_` is filled with each option; what is scored is the rest of the
// sentence after it, which is the same for both options.
const winogrande: TaskTemplate = {
  name: 'winogrande',
  fields: ['sentence', 'option1', 'option2'],
  labelField: 'answer',
  labels: { '1': 0, '2': 1 },
  candidates: (r) => {
    const s = r.sentence!;
    const blank = s.indexOf('_');
    if (blank < 0) {
      throw new WhetstoneError('DATASET_INVALID', 'The WinoGrande sentence has no blank "_".');
    }
    return [r.option1!, r.option2!].map((option) => ({
      context: s.slice(0, blank) + option,
      continuation: s.slice(blank + 1),
    }));
  },
  plain: plainCandidates(['sentence'], (r) => [r.option1!, r.option2!]),
};

const multirc: TaskTemplate = {
  name: 'multirc',
  fields: ['paragraph', 'question', 'answer'],
  labelField: 'label',
  labels: { '0': 0, '1': 1, false: 0, true: 1 },
  candidates: (r) => {
    const context = `${r.paragraph}\nQuestion: ${r.question}\nI found this answer "${r.answer}". Is that correct? Yes or No?\n`;
    return ['No', 'Yes'].map((w) => ({ context, continuation: w }));
  },
  plain: plainCandidates(['paragraph', 'question', 'answer'], () => ['0', '1']),
  masked: (r) => ({
    before: `${r.paragraph!.trim()} Question: ${r.question!.trim()} Is the answer "${r.answer!.trim()}" correct?`,
    after: '.',
    words: [' No', ' Yes'],
  }),
};

export const builtinTemplates: Record<string, TaskTemplate> = {
  sst2,
  rte,
  cb,
  boolq,
  copa,
  winogrande,
  multirc,
};

/** The placeholder of a user template where a masked LM's answer goes. */
const MASK_PLACEHOLDER = '{mask}';

/**
 * A user's template: `prompt` with {column} placeholders, and label words. `labelWords` is
 * "terrible,great" (label 0, 1, ... or the word itself) or "neg=terrible,pos=great". A word
 * follows the prompt after a space unless the prompt already ends in white space. For a masked
 * LM, `{mask}` marks where the word goes (the end of the prompt when absent).
 */
export function userTemplate(template: string, labelWords: string): TaskTemplate {
  // Typed on a command line, a line break arrives as the two characters \n.
  const prompt = template.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
  const fields = [...prompt.matchAll(/\{([^{}]+)\}/g)]
    .map((m) => m[1]!)
    .filter((f) => `{${f}}` !== MASK_PLACEHOLDER);
  if (fields.length === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `The template "${prompt}" names no column.`,
      'Write columns in braces, e.g. --template "{text} It was" --label-words terrible,great.',
    );
  }
  const pairs = labelWords.split(',').map((part, i) => {
    const eq = part.indexOf('=');
    return eq < 0
      ? [String(i), part.trim()]
      : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  });
  if (pairs.length < 2 || pairs.some(([k, w]) => !k || !w)) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `--label-words "${labelWords}" needs two or more words.`,
      'E.g. --label-words terrible,great or --label-words negative=terrible,positive=great.',
    );
  }
  const labels: Record<string, number> = {};
  pairs.forEach(([key, word], i) => {
    labels[key!.toLowerCase()] = i;
    labels[word!.toLowerCase()] ??= i;
  });
  const fill = (text: string, r: Fields) =>
    text.replace(/\{([^{}]+)\}/g, (_, f: string) => r[f] ?? '');
  const at = prompt.indexOf(MASK_PLACEHOLDER);
  if (at >= 0 && prompt.indexOf(MASK_PLACEHOLDER, at + 1) >= 0) {
    throw new WhetstoneError('BAD_ARGUMENT', `The template "${prompt}" has more than one {mask}.`);
  }
  // Before the answer (the whole prompt for a decoder, which continues it) and after it.
  const [head, tail] =
    at < 0 ? [prompt, ''] : [prompt.slice(0, at), prompt.slice(at + MASK_PLACEHOLDER.length)];
  const space = /\s$/.test(head) ? '' : ' ';
  const spaced = (w: string) => (at >= 0 && !/\s$/.test(head) ? w : ` ${w}`);
  return {
    name: 'custom',
    fields: [...new Set(fields)],
    labelField: 'label',
    labels,
    candidates: (r) => {
      if (tail.trim() !== '') throw decoderMaskError(prompt);
      return pairs.map(([, w]) => ({ context: fill(head, r), continuation: space + w }));
    },
    plain: plainCandidates([...new Set(fields)], () => pairs.map(([k]) => k!)),
    masked: (r) => ({
      before: fill(head, r).trimEnd(),
      after: fill(tail, r),
      words: pairs.map(([, w]) => spaced(w!)),
    }),
  };
}

const decoderMaskError = (prompt: string) =>
  new WhetstoneError(
    'BAD_ARGUMENT',
    `The template "${prompt}" puts text after {mask}, which only a masked language model reads.`,
    'For a decoder model end the template where the answer goes (e.g. "{text} It was").',
  );
