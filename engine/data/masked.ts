// Examples for masked language models (RoBERTa, BERT). Three objectives, each position-aligned
// (the logits at t are scored against labels[t] where the mask is 1):
// - MLM pretraining on text: every real token may be chosen (train/mlm-masking.ts draws them).
// - prompt-based classification: the template's text with one mask token, scored over the label
//   words' logits there (labels hold the class index into the label words).
// - the no-template ablation: the inputs plainly, a classification head on the first token.
import { WhetstoneError } from '../errors.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { maskRow, type MlmMasking } from '../train/mlm-masking.js';
import type { Rng } from '../util/rng.js';
import type { Example } from './formats.js';
import type { MaskedPrompt } from './task-templates.js';
import type { TokenizedExample, TokenizeResult } from './tokenize.js';

/** The mask token, or a clear error for a tokenizer without one. */
export function mlmMasking(tokenizer: TextTokenizer, vocabSize: number): MlmMasking {
  const maskId = tokenizer.maskTokenId;
  if (maskId === undefined) {
    throw new WhetstoneError(
      'TOKENIZER_INVALID',
      'The model is a masked language model, but its tokenizer_config.json names no mask_token.',
      'Add "mask_token" (e.g. "<mask>" or "[MASK]") to tokenizer_config.json, as the model was trained with it.',
    );
  }
  return {
    maskTokenId: maskId,
    specialIds: new Set([...tokenizer.specialTokenIds, maskId]),
    vocabSize,
  };
}

/**
 * Vocabulary ids of a template's label words: each must be one token, or the model could not
 * say it at one mask.
 */
export function labelWordIds(words: readonly string[], tokenizer: TextTokenizer): number[] {
  return words.map((word) => {
    const ids = tokenizer.encode(word, { addSpecialTokens: false });
    if (ids.length !== 1) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `The label word "${word.trim()}" is ${ids.length} tokens in this model's tokenizer; a masked LM answers with one token at the mask.`,
        'Pick label words that are single tokens (--template "{text} It was {mask}." --label-words bad,good), or use --no-template for a classification head.',
      );
    }
    return ids[0]!;
  });
}

/** A row with the template's mask: the target is the label's index among the label words. */
export function tokenizeMaskedPrompt(
  prompt: MaskedPrompt,
  label: number,
  tokenizer: TextTokenizer,
  seqLen: number,
): TokenizeResult {
  const maskId = tokenizer.maskTokenId!;
  const maskText = tokenizer.decode([maskId]);
  let ids = tokenizer.encode(`${prompt.before}${maskText}${prompt.after}`, {
    addSpecialTokens: true,
  });
  const length = ids.length;
  // Too long: drop the start of the text after the first token (<s>/[CLS]); the mask is late.
  if (length > seqLen) ids = [ids[0]!, ...ids.slice(length - seqLen + 1)];
  const at = ids.indexOf(maskId);
  if (at < 0) {
    return { ok: false, length, reason: `the mask falls outside ${seqLen} tokens` };
  }
  return { ok: true, example: oneTarget(ids, at, label), length, truncated: length > seqLen };
}

/** A row without the template (the ablation): the target sits on the first token. */
export function tokenizeInputs(
  inputs: readonly string[],
  label: number,
  tokenizer: TextTokenizer,
  seqLen: number,
): TokenizeResult {
  const ids = tokenizer.encode(inputs.map((s) => s.trim()).join('\n'), { addSpecialTokens: true });
  const length = ids.length;
  return {
    ok: true,
    example: oneTarget(ids.slice(0, seqLen), 0, label),
    length,
    truncated: length > seqLen,
  };
}

function oneTarget(ids: number[], at: number, label: number): TokenizedExample {
  const mask = ids.map((_, i) => (i === at ? 1 : 0));
  const labels = ids.map((_, i) => (i === at ? label : 0));
  return { ids, mask, labels };
}

/** Text for MLM: every real (non-special) token may be chosen. */
export function tokenizeForMlm(
  text: string,
  tokenizer: TextTokenizer,
  mlm: MlmMasking,
  seqLen: number,
): TokenizeResult {
  const all = tokenizer.encode(text, { addSpecialTokens: true });
  const ids = all.slice(0, seqLen);
  const mask = ids.map((id) => (mlm.specialIds.has(id) ? 0 : 1));
  if (!mask.includes(1)) return { ok: false, length: all.length, reason: 'no text to predict' };
  return { ok: true, example: { ids, mask }, length: all.length, truncated: all.length > seqLen };
}

/** What a masked LM's run trains, from its data: the loss and the head follow from it. */
export type MaskedObjective =
  | { kind: 'mlm'; masking: MlmMasking }
  | { kind: 'label-words'; words: string[]; ids: number[] }
  | { kind: 'head'; classes: number };

/**
 * One example of a masked LM's data, and the objective it asks for: text is MLM, a
 * classification row is scored at its mask (or by a head, without the template).
 */
export function tokenizeForMaskedLm(
  example: Example,
  tokenizer: TextTokenizer,
  mlm: MlmMasking,
  seqLen: number,
): { result: TokenizeResult; objective: MaskedObjective } {
  if (example.kind === 'text') {
    return {
      result: tokenizeForMlm(example.text, tokenizer, mlm, seqLen),
      objective: { kind: 'mlm', masking: mlm },
    };
  }
  if (example.kind === 'classification' && example.masked) {
    const { words } = example.masked;
    return {
      result: tokenizeMaskedPrompt(example.masked, example.label, tokenizer, seqLen),
      objective: { kind: 'label-words', words, ids: labelWordIds(words, tokenizer) },
    };
  }
  if (example.kind === 'classification' && example.inputs) {
    return {
      result: tokenizeInputs(example.inputs, example.label, tokenizer, seqLen),
      objective: { kind: 'head', classes: 0 }, // the task's label count is filled in by the caller
    };
  }
  throw new WhetstoneError(
    'DATASET_INVALID',
    `A masked language model trains on plain text (masked-token prediction) or on classification rows; this data is ${example.kind}.`,
    'Give it a text file (--format text) or classification data with a template (e.g. --template sst2).',
  );
}

/** One fixed MLM draw over a held-out row (training draws afresh every batch). */
export function heldOutDraw(ids: readonly number[], m: MlmMasking, rng: Rng): TokenizedExample {
  const { input, labels, mask } = maskRow(ids, m, rng);
  return { ids: input, mask, labels };
}
