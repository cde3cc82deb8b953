// Training batches: tokenised sequences (engine/data/dataset.ts) served as fixed-shape batches
// [B, T] (right padding, masked out; prompts masked out where a loss mask is given) in a seeded
// order that a single counter can resume.
import { tf } from '../backend/tf.js';
import { maskForMlm, type MlmTokens } from '../data/masked.js';
import type { Batch } from '../optim/method.js';
import { Rng } from '../util/rng.js';

/** Fisher–Yates over 0..n-1. */
export function permutation(n: number, rng: Rng): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Masked LMs: what a batch carries beyond ids and mask (models/loss.ts LossTargets). */
export interface BatchTargets {
  /** Per sequence, the target at each position. */
  labels?: readonly (readonly number[])[];
  /** Vocabulary ids the loss compares at each target (prompt-based classification). */
  labelWords?: readonly number[];
  /** Draw fresh MLM masks for every batch (the masks then say which tokens may be chosen). */
  mlm?: MlmTokens;
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
    /** Per sequence, 1 where a token is a target; all real tokens when absent. */
    private readonly masks?: readonly (readonly number[])[],
    private readonly targets: BatchTargets = {},
  ) {
    if (sequences.length === 0) throw new Error('No training sequences.');
  }

  /** The next batch's sequence indices, advancing the position. */
  private nextIndices(): number[] {
    const rows: number[] = [];
    for (let i = 0; i < this.batchSize; i++) {
      const n = this.sequences.length;
      const epoch = Math.floor(this.position / n);
      if (epoch !== this.epochIndex) {
        this.epochOrder = permutation(n, new Rng(this.seed * 1000003 + epoch));
        this.epochIndex = epoch;
      }
      rows.push(this.epochOrder[this.position % n]!);
      this.position++;
    }
    return rows;
  }

  /** The next batch's rows (as token ids), advancing the position. */
  nextRows(): number[][] {
    return this.nextIndices().map((i) => this.sequences[i]!);
  }

  next(): Batch {
    const start = this.position;
    const indices = this.nextIndices();
    const rows = indices.map((i) => this.sequences[i]!);
    const { masks } = this;
    const { labels, labelWords, mlm } = this.targets;
    if (mlm && masks) {
      // The draw depends only on the seed and the position, so a resume repeats it.
      const rng = new Rng((this.seed * 1000003) ^ (start * 7919 + 0x6d6c));
      const drawn = indices.map((i) => maskForMlm(this.sequences[i]!, masks[i]!, mlm, rng));
      return toBatch(
        drawn.map((e) => e.ids),
        this.seqLen,
        this.padId,
        drawn.map((e) => e.mask),
        { labels: drawn.map((e) => e.labels!) },
      );
    }
    return toBatch(rows, this.seqLen, this.padId, masks && indices.map((i) => masks[i]!), {
      ...(labels && { labels: indices.map((i) => labels[i]!) }),
      ...(labelWords && { labelWords }),
    });
  }
}

/**
 * Rows padded on the right to [B, T] with a mask of the targets: every real token, or where
 * `masks` (one per row) says; with labels (one row each), the targets of a masked LM.
 */
export function toBatch(
  rows: number[][],
  seqLen: number,
  padId: number,
  masks?: readonly (readonly number[])[],
  aligned: Omit<BatchTargets, 'mlm'> = {},
): Batch {
  const b = rows.length;
  const ids = new Int32Array(b * seqLen).fill(padId);
  const mask = new Float32Array(b * seqLen);
  let targets = 0;
  rows.forEach((row, r) => {
    ids.set(row, r * seqLen);
    const rowMask = masks?.[r];
    if (rowMask === undefined) {
      mask.fill(1, r * seqLen, r * seqLen + row.length);
      targets += Math.max(0, row.length - 1);
      return;
    }
    mask.set(rowMask, r * seqLen);
    for (let t = aligned.labels ? 0 : 1; t < rowMask.length; t++) targets += rowMask[t]!;
  });
  const labels = aligned.labels && new Int32Array(b * seqLen);
  aligned.labels?.forEach((row, r) => labels!.set(row, r * seqLen));
  return {
    ids: tf.tensor2d(ids, [b, seqLen], 'int32'),
    mask: tf.tensor2d(mask, [b, seqLen]),
    targets,
    ...(labels && { labels: tf.tensor2d(labels, [b, seqLen], 'int32') }),
    ...(aligned.labelWords && { labelWords: aligned.labelWords }),
  };
}
