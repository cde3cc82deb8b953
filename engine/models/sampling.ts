// Choosing the next token from logits on the host: greedy, or sampled with temperature, top-k
// and top-p (nucleus), from a seeded generator so that a seed reproduces a generation.
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy). */
  temperature: number;
  /** Keep only the k most likely tokens (0: all). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1: all). */
  topP: number;
}

export const greedy: SamplingOptions = { temperature: 0, topK: 0, topP: 1 };

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Pick a token id from one row of logits. */
export function pickToken(logits: Float32Array, opts: SamplingOptions, rng: Rng): number {
  if (opts.temperature <= 0) return argmax(logits);
  // Candidates by descending logit; top-k trims the list before the softmax.
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  if (opts.topK > 0) order = order.slice(0, opts.topK);
  const max = logits[order[0]!]!;
  const weights = order.map((i) => Math.exp((logits[i]! - max) / opts.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let kept = order.length;
  if (opts.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < order.length; i++) {
      cumulative += weights[i]! / total;
      if (cumulative >= opts.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  let r = rng.uniform() * keptTotal;
  for (let i = 0; i < kept; i++) {
    r -= weights[i]!;
    if (r < 0) return order[i]!;
  }
  return order[kept - 1]!;
}
