// Training batches: tokenised sequences (engine/data/dataset.ts) served as fixed-shape batches
// [B, T] (right padding, masked out; prompts masked out where a loss mask is given) in a seeded
// order that a single counter can resume.
import { tf } from '../backend/tf.js';
import type { Batch } from '../optim/method.js';
import { mlmBatch, type MlmMasking } from './mlm-masking.js';
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

/** Masked LMs: what a batch carries beyond ids and masks (models/loss.ts LossBatch). */
export interface BatchTargets {
  /** Per sequence, the target at each position. */
  labels?: readonly (readonly number[])[];
  /** Vocabulary ids the loss compares at each target (prompt-based classification). */
  labelWords?: readonly number[];
  /** Draw fresh MLM masks for every batch (train/mlm-masking.ts). */
  mlm?: MlmMasking;
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
    const { labels, labelWords, mlm } = this.targets;
    // MLM: a fresh draw per batch from the seed and the position, so a resume repeats it.
    if (mlm) {
      const rng = new Rng((this.seed * 1000003) ^ (start * 7919 + 0x6d6c));
      return mlmBatch(rows, this.seqLen, this.padId, mlm, rng);
    }
    const masks = this.masks;
    const batch = toBatch(
      rows,
      this.seqLen,
      this.padId,
      masks && indices.map((i) => masks[i]!),
      labels && indices.map((i) => labels[i]!),
    );
    return labelWords ? { ...batch, labelWords: tf.tensor1d([...labelWords], 'int32') } : batch;
  }
}

/**
 * Rows padded on the right to [B, T] with a mask of the targets: every real token, or where
 * `masks` (one per row) says. With `labels` (masked LMs, one per row), the batch carries them
 * and every mask one is a target (no shift: see models/loss.ts).
 */
export function toBatch(
  rows: readonly (readonly number[])[],
  seqLen: number,
  padId: number,
  masks?: readonly (readonly number[])[],
  labels?: readonly (readonly number[])[],
): Batch {
  const b = rows.length;
  const ids = new Int32Array(b * seqLen).fill(padId);
  const mask = new Float32Array(b * seqLen);
  let targets = 0;
  if (labels) {
    const labelIds = new Int32Array(b * seqLen);
    rows.forEach((row, r) => {
      ids.set(row, r * seqLen);
      labelIds.set(labels[r]!, r * seqLen);
      const rowMask = masks?.[r] ?? row.map(() => 1);
      mask.set(rowMask, r * seqLen);
      for (const m of rowMask) targets += m;
    });
    return {
      ids: tf.tensor2d(ids, [b, seqLen], 'int32'),
      mask: tf.tensor2d(mask, [b, seqLen]),
      labels: tf.tensor2d(labelIds, [b, seqLen], 'int32'),
      targets,
    };
  }
  rows.forEach((row, r) => {
    ids.set(row, r * seqLen);
    const rowMask = masks?.[r];
    if (rowMask === undefined) {
      mask.fill(1, r * seqLen, r * seqLen + row.length);
      targets += Math.max(0, row.length - 1);
      return;
    }
    mask.set(rowMask, r * seqLen);
    for (let t = 1; t < rowMask.length; t++) targets += rowMask[t]!;
  });
  return {
    ids: tf.tensor2d(ids, [b, seqLen], 'int32'),
    mask: tf.tensor2d(mask, [b, seqLen]),
    targets,
  };
}
