// What prefix and prompt tuning add to the memory estimate: the prompt tensor, and activations
// per real token per block. A prefix lengthens every attention by n keys (scores, and the keys
// and values joined with the prefix); prompt tuning runs n more tokens through every block.
import type { CausalLM } from '../models/causal-lm.js';
import { kvWidth, promptShape, type PromptKind } from './prompts.js';

export interface PromptTerms {
  /** Bytes of `prompt_embeddings`. */
  bytes: number;
  /** Activation floats per real token per block beyond the base model's (before its 1.6). */
  perToken: number;
}

/** `embedWidth`: the token embedding's width (E); `seq`: the real tokens per row. */
export function promptTerms(
  model: CausalLM,
  kind: PromptKind,
  n: number,
  embedWidth: number,
  seq: number,
): PromptTerms {
  const c = model.config;
  const [rows, width] = promptShape(kind, c, embedWidth, n);
  const bytes = rows * width * 4;
  // Prefix: n more score columns per head (scores, mask sum, softmax) and the joined keys and
  // values; exact counts, so the base formula's 1.6 for tfjs's temporaries is taken back out.
  if (kind === 'prefix') return { bytes, perToken: (3 * c.heads * n + 2 * kvWidth(c)) / 1.6 };
  // The base formula's floats per token of a block (estimate.ts), for seq + n tokens attending
  // over seq + n, counted per real token.
  const linears = model
    .linearSpecs()
    .filter((s) => /\.(layers|h)\.0\./.test(s.name))
    .reduce((s, l) => s + l.inFeatures + l.outFeatures, 0);
  const perTokenAt = (t: number) => linears + 8 * c.hidden + 3 * c.heads * t;
  return { bytes, perToken: (perTokenAt(seq + n) * (seq + n)) / seq - perTokenAt(seq) };
}

/** The token embedding's width from a checkpoint's shapes (OPT's may differ from hidden). */
export function embedWidthOf(shapes: Map<string, number[]>, hidden: number): number {
  for (const [name, shape] of shapes)
    if (/(embed_tokens|wte)\.weight$/.test(name) && shape.length === 2) return shape[1]!;
  return hidden;
}
