// Plain-text training data ({"text": ...} per JSONL line): tokenised once, split into train and
// held-out rows by a seeded shuffle, and served as fixed-shape batches [B, T] (right padding,
// masked out) in a seeded order that a single counter can resume.
import { tf } from '../backend/tf.js';
import { describeProblems, readTextRows, type RowProblem } from '../data/jsonl.js';
import { WhetstoneError } from '../errors.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Batch } from '../optim/method.js';
import { Rng } from '../util/rng.js';

export interface TextDataset {
  train: number[][];
  eval: number[][];
  /** Rows longer than the sequence length, cut to it. */
  truncated: number;
  problems: RowProblem[];
}

export interface TextDataOptions {
  seqLen: number;
  /** Fraction of rows held out for evaluation (0 for none). */
  evalFraction: number;
  seed: number;
}

/** Read and tokenise a JSONL text file; bad rows are reported, and fatal only if none is usable. */
export async function loadTextDataset(
  file: string,
  tokenizer: TextTokenizer,
  opts: TextDataOptions,
): Promise<TextDataset> {
  const { texts, problems } = await readTextRows(file);
  if (texts.length === 0) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${file} has no usable rows.${problems.length ? `\n${describeProblems(problems)}` : ''}`,
      'Write one JSON object per line with a "text" field: {"text": "..."}.',
    );
  }
  const eos = tokenizer.eosTokenIds[0];
  let truncated = 0;
  const sequences = texts.map((text) => {
    const ids = tokenizer.encode(text, { addSpecialTokens: true });
    // End each text with EOS so the model learns where documents stop.
    if (eos !== undefined && ids.at(-1) !== eos) ids.push(eos);
    if (ids.length > opts.seqLen) truncated++;
    return ids.slice(0, opts.seqLen);
  });
  const order = permutation(sequences.length, new Rng(opts.seed ^ 0x5eed));
  const held = Math.min(sequences.length - 1, Math.round(sequences.length * opts.evalFraction));
  return {
    eval: order.slice(0, held).map((i) => sequences[i]!),
    train: order.slice(held).map((i) => sequences[i]!),
    truncated,
    problems,
  };
}

/** Fisher–Yates over 0..n-1. */
export function permutation(n: number, rng: Rng): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Batches from an endless stream of epochs, each a fresh seeded shuffle. `position` (sequences
 * served so far) is all a checkpoint needs to continue the same order.
 */
export class BatchSampler {
  private epochOrder: number[] = [];
  private epochIndex = -1;

  constructor(
    private readonly sequences: number[][],
    private readonly batchSize: number,
    private readonly seqLen: number,
    private readonly seed: number,
    private readonly padId: number,
    public position = 0,
  ) {
    if (sequences.length === 0) throw new Error('No training sequences.');
  }

  /** The next batch's rows (as token ids), advancing the position. */
  nextRows(): number[][] {
    const rows: number[][] = [];
    for (let i = 0; i < this.batchSize; i++) {
      const n = this.sequences.length;
      const epoch = Math.floor(this.position / n);
      if (epoch !== this.epochIndex) {
        this.epochOrder = permutation(n, new Rng(this.seed * 1000003 + epoch));
        this.epochIndex = epoch;
      }
      rows.push(this.sequences[this.epochOrder[this.position % n]!]!);
      this.position++;
    }
    return rows;
  }

  next(): Batch {
    return toBatch(this.nextRows(), this.seqLen, this.padId);
  }
}

/** Rows padded on the right to [B, T] with a mask of the real tokens. */
export function toBatch(rows: number[][], seqLen: number, padId: number): Batch {
  const b = rows.length;
  const ids = new Int32Array(b * seqLen).fill(padId);
  const mask = new Float32Array(b * seqLen);
  let targets = 0;
  rows.forEach((row, r) => {
    ids.set(row, r * seqLen);
    mask.fill(1, r * seqLen, r * seqLen + row.length);
    targets += Math.max(0, row.length - 1);
  });
  return {
    ids: tf.tensor2d(ids, [b, seqLen], 'int32'),
    mask: tf.tensor2d(mask, [b, seqLen]),
    targets,
  };
}
