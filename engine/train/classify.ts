// Classification accuracy as the papers measure it: each candidate's continuation is scored
// after its context, and the candidate with the highest average per-token log-likelihood is
// the prediction.
import type { Example } from '../data/formats.js';
import type { Candidate } from '../data/task-templates.js';
import { specialPrefix } from '../data/tokenize.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLM } from '../models/causal-lm.js';
import { scoreContinuations } from '../models/log-likelihood.js';

export interface ClassificationItem {
  candidates: Candidate[];
  label: number;
}

export interface AccuracyResult {
  accuracy: number;
  correct: number;
  examples: number;
  /** Predictions per true label: confusion[true][predicted]. */
  confusion: number[][];
}

/** Index of the candidate with the highest mean log-likelihood per continuation token. */
export async function predict(
  model: CausalLM,
  tokenizer: TextTokenizer,
  candidates: Candidate[],
): Promise<{ predicted: number; means: number[] }> {
  const prefix = specialPrefix(tokenizer);
  const means = new Array<number>(candidates.length).fill(-Infinity);
  // Candidates that share a context (most templates) are scored in one batch.
  const byContext = new Map<string, number[]>();
  candidates.forEach((c, i) => byContext.set(c.context, [...(byContext.get(c.context) ?? []), i]));
  for (const [context, indices] of byContext) {
    const continuations = indices.map((i) =>
      tokenizer.encode(candidates[i]!.continuation, { addSpecialTokens: false }),
    );
    let ids = [...prefix, ...tokenizer.encode(context, { addSpecialTokens: false })];
    if (ids.length === 0) ids = [tokenizer.bosTokenId ?? tokenizer.eosTokenIds[0] ?? 0];
    // Too long for the model: keep the end of the context, nearest the answer.
    const room = model.config.contextLength - Math.max(...continuations.map((c) => c.length));
    if (ids.length > room) ids = ids.slice(ids.length - Math.max(1, room));
    const scores = await scoreContinuations(model, ids, continuations);
    indices.forEach((i, k) => (means[i] = scores[k]!.mean));
  }
  let predicted = 0;
  means.forEach((m, i) => {
    if (m > means[predicted]!) predicted = i;
  });
  return { predicted, means };
}

export async function classificationAccuracy(
  model: CausalLM,
  tokenizer: TextTokenizer,
  items: ClassificationItem[],
  onItem?: (done: number, total: number) => void,
): Promise<AccuracyResult> {
  const classes = Math.max(...items.map((e) => e.candidates.length));
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (const [n, item] of items.entries()) {
    const { predicted } = await predict(model, tokenizer, item.candidates);
    confusion[item.label]![predicted]!++;
    if (predicted === item.label) correct++;
    onItem?.(n + 1, items.length);
  }
  return {
    accuracy: items.length ? correct / items.length : NaN,
    correct,
    examples: items.length,
    confusion,
  };
}

/** The accuracy on a run's held-out rows when they are classification rows; else undefined. */
export async function heldOutAccuracy(
  model: CausalLM,
  tokenizer: TextTokenizer,
  heldOut: Example[],
): Promise<AccuracyResult | undefined> {
  const items = heldOut.filter(
    (e): e is Extract<Example, { kind: 'classification' }> => e.kind === 'classification',
  );
  return items.length > 0 ? classificationAccuracy(model, tokenizer, items) : undefined;
}
