// Log-likelihood of continuations given a context: how classification is scored (the
// candidate with the highest average per-token log-likelihood wins) and how a user compares
// answers. Candidates run together as one right-padded batch; padding is never a target.
import { tf } from '../backend/tf.js';
import { forwardLogits, type CausalLM } from './causal-lm.js';
import { nextTokenNll } from './loss.js';

export interface ContinuationScore {
  /** log p(token | everything before it), one per continuation token. */
  tokenLogProbs: number[];
  /** Sum of tokenLogProbs: the continuation's log-likelihood. */
  sum: number;
  /** Average per token, which does not favour short candidates. */
  mean: number;
}

/**
 * Score each continuation after `context` (token ids; the context should start with BOS where
 * the model expects one). Context plus continuation must fit the model's context length.
 */
export async function scoreContinuations(
  model: CausalLM,
  context: number[],
  continuations: number[][],
): Promise<ContinuationScore[]> {
  if (context.length === 0) throw new Error('The context needs at least one token (e.g. BOS).');
  if (continuations.some((c) => c.length === 0)) throw new Error('A continuation is empty.');
  const width = context.length + Math.max(...continuations.map((c) => c.length));
  if (width > model.config.contextLength) {
    throw new Error(
      `Context and continuation need ${width} tokens; the model's context is ${model.config.contextLength}.`,
    );
  }
  const b = continuations.length;
  const ids = new Int32Array(b * width);
  continuations.forEach((c, row) => {
    ids.set(context, row * width);
    ids.set(c, row * width + context.length);
  });
  const nll = tf.tidy(() => {
    const idsT = tf.tensor2d(ids, [b, width], 'int32');
    return nextTokenNll(forwardLogits(model, idsT), idsT); // [B, width - 1]
  });
  const values = (await nll.data()) as Float32Array;
  nll.dispose();
  return continuations.map((c, row) => {
    // Position p of nll predicts token p + 1, so the continuation's tokens start at context - 1.
    const start = row * (width - 1) + context.length - 1;
    const tokenLogProbs = Array.from(values.subarray(start, start + c.length), (v) => -v);
    const sum = tokenLogProbs.reduce((a, x) => a + x, 0);
    return { tokenLogProbs, sum, mean: sum / c.length };
  });
}
