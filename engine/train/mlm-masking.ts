// Masked-LM pretraining's corruption, as BERT and RoBERTa were trained (and as transformers'
// DataCollatorForLanguageModeling does it): every ordinary token is chosen with probability
// 15%; a chosen token becomes a target, and the input shows the mask token there 80% of the
// time, a random token 10%, and the token itself 10%. The loss is then at the chosen positions
// only (models/loss.ts batchNll with labels).
import type { Batch } from '../optim/method.js';
import type { Rng } from '../util/rng.js';
import { toBatch } from './text-data.js';

export interface MlmMasking {
  /** The tokenizer's mask token (<mask>, [MASK]). */
  maskTokenId: number;
  /** Random replacements are drawn from 0..vocabSize-1. */
  vocabSize: number;
  /** Ids never chosen: the tokenizer's special tokens (bos, eos, pad, cls, sep, mask). */
  specialIds: ReadonlySet<number>;
  /** Probability that a token is chosen (0.15). */
  rate?: number;
}

export const MLM_RATE = 0.15;

/** One row corrupted: the input ids, each position's label (its original id) and the target mask. */
export function maskRow(
  row: readonly number[],
  m: MlmMasking,
  rng: Rng,
): { input: number[]; labels: number[]; mask: number[] } {
  const rate = m.rate ?? MLM_RATE;
  const input = [...row];
  const mask = row.map(() => 0);
  row.forEach((id, t) => {
    if (m.specialIds.has(id) || rng.uniform() >= rate) return;
    mask[t] = 1;
    const r = rng.uniform();
    if (r < 0.8) input[t] = m.maskTokenId;
    else if (r < 0.9) input[t] = Math.floor(rng.uniform() * m.vocabSize);
  });
  return { input, labels: [...row], mask };
}

/** Rows corrupted with `maskRow` and padded into a masked-LM batch [B, seqLen]. */
export function mlmBatch(
  rows: readonly (readonly number[])[],
  seqLen: number,
  padId: number,
  m: MlmMasking,
  rng: Rng,
): Batch {
  const masked = rows.map((row) => maskRow(row, m, rng));
  return toBatch(
    masked.map((x) => x.input),
    seqLen,
    padId,
    masked.map((x) => x.mask),
    masked.map((x) => x.labels),
  );
}
