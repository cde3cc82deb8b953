// Rendered examples as token ids with a loss mask (1 where a token is a target), cut to the
// sequence length or dropped, optionally packed several to a row; and length statistics.
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Rendered } from './render.js';

export interface TokenizedExample {
  ids: number[];
  /** 1 where the token is a target of the loss; same length as ids. */
  mask: number[];
  /**
   * Masked LMs: the target at each position (a token id, or a class index), scored where the
   * mask is 1; without it the target of position t is token t+1 (causal).
   */
  labels?: number[];
}

export interface TokenizeOptions {
  seqLen: number;
  /** Rows longer than seqLen: cut (default) or leave out. */
  overLength: 'truncate' | 'drop';
  /** Targets: only completions / assistant turns / label words (default), or every token. */
  trainOn: 'completion' | 'all';
}

export type TokenizeResult =
  | { ok: true; example: TokenizedExample; length: number; truncated: boolean }
  | { ok: false; length: number; reason: string };

type Encoder = Pick<TextTokenizer, 'encode' | 'eosTokenIds'>;

const prefixes = new WeakMap<Encoder, number[]>();

/** The ids a tokenizer puts before any text (BOS, if its post-processor adds one). */
export function specialPrefix(tokenizer: Encoder): number[] {
  let prefix = prefixes.get(tokenizer);
  if (!prefix) {
    const eos = new Set(tokenizer.eosTokenIds);
    prefix = tokenizer.encode('', { addSpecialTokens: true }).filter((id) => !eos.has(id));
    prefixes.set(tokenizer, prefix);
  }
  return prefix;
}

export function tokenizeRendered(
  rendered: Rendered,
  tokenizer: Encoder,
  opts: TokenizeOptions,
): TokenizeResult {
  const ids: number[] = rendered.addSpecial ? [...specialPrefix(tokenizer)] : [];
  // The prefix (BOS) counts as part of the first segment, as a plain text's BOS always did.
  const first = opts.trainOn === 'all' || rendered.segments[0]?.train === true ? 1 : 0;
  const mask: number[] = ids.map(() => first);
  const eos = tokenizer.eosTokenIds[0];
  for (const seg of rendered.segments) {
    const piece = seg.text === '' ? [] : tokenizer.encode(seg.text, { addSpecialTokens: false });
    if (seg.eos && eos !== undefined && (piece.at(-1) ?? ids.at(-1)) !== eos) piece.push(eos);
    const m = opts.trainOn === 'all' || seg.train ? 1 : 0;
    for (const id of piece) {
      ids.push(id);
      mask.push(m);
    }
  }
  const length = ids.length;
  if (length > opts.seqLen && opts.overLength === 'drop') {
    return {
      ok: false,
      length,
      reason: `${length} tokens, longer than the context (${opts.seqLen})`,
    };
  }
  const truncated = length > opts.seqLen;
  const example = { ids: ids.slice(0, opts.seqLen), mask: mask.slice(0, opts.seqLen) };
  // The first token is never a target (nothing precedes it).
  if (!example.mask.some((m, i) => m === 1 && i > 0)) {
    return {
      ok: false,
      length,
      reason: truncated
        ? `nothing to learn within ${opts.seqLen} tokens (the answer starts after the cut)`
        : 'nothing to learn (no completion or assistant tokens)',
    };
  }
  return { ok: true, example, length, truncated };
}

/** Target tokens of an example: mask ones (after the first position, for a causal one). */
export function targetCount(e: TokenizedExample): number {
  let n = 0;
  for (let i = e.labels ? 0 : 1; i < e.mask.length; i++) n += e.mask[i]!;
  return n;
}

/**
 * Short examples concatenated into rows of at most seqLen tokens, in the given order (the
 * split's shuffle), so fewer padding tokens are computed. Examples attend to earlier ones in the
 * same row; the mask keeps the loss on each one's own targets.
 */
export function packExamples(examples: TokenizedExample[], seqLen: number): TokenizedExample[] {
  const rows: TokenizedExample[] = [];
  const empty = (): TokenizedExample => ({
    ids: [],
    mask: [],
    ...(examples[0]?.labels && { labels: [] }),
  });
  let current = empty();
  for (const e of examples) {
    if (current.ids.length > 0 && current.ids.length + e.ids.length > seqLen) {
      rows.push(current);
      current = empty();
    }
    current.ids.push(...e.ids);
    current.mask.push(...e.mask);
    if (e.labels) current.labels?.push(...e.labels);
  }
  if (current.ids.length > 0) rows.push(current);
  return rows;
}

export interface LengthStats {
  examples: number;
  min: number;
  mean: number;
  median: number;
  p95: number;
  max: number;
  /** Examples longer than the sequence length (cut, or dropped). */
  overLength: number;
  /** Target tokens in all (after cutting). */
  targetTokens: number;
}

export function lengthStats(lengths: number[], seqLen: number, targetTokens: number): LengthStats {
  const sorted = [...lengths].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    examples: sorted.length,
    min: sorted[0] ?? 0,
    mean: sorted.length ? Math.round((sum / sorted.length) * 10) / 10 : 0,
    median: at(0.5),
    p95: at(0.95),
    max: sorted.at(-1) ?? 0,
    overLength: sorted.filter((l) => l > seqLen).length,
    targetTokens,
  };
}
