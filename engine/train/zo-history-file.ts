// A zeroth-order run's update history on disk (runs/<run>/zo-history.bin): written whole and
// atomically at every checkpoint and at the end, read back on resume (the checkpoint then cuts it
// to the records it had seen). Saves queue one after another; a failed save fails the next.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../backend/tf.js';
import { HISTORY_FILE, ZoHistory, type HistoryHeader } from '../optim/zo-history.js';
import type { ZoMethod } from '../optim/zo.js';
import { writeFileAtomic } from './run-dir.js';

export class ZoHistoryFile {
  private chain = Promise.resolve();
  private disabled = false;
  readonly path: string;

  constructor(
    runDir: string,
    private readonly method: ZoMethod,
  ) {
    this.path = join(runDir, HISTORY_FILE);
  }

  private header(): HistoryHeader {
    return {
      format: 'whetstone-zo-history',
      version: 1,
      method: this.method.name,
      tensors: this.method.perturbed.map(({ name, stream, decays }) => ({ name, stream, decays })),
      backend: tf.getBackend(),
    };
  }

  /** Save the history as it is now (encoded at once, so a checkpoint and its history agree). */
  save(): Promise<void> {
    if (this.disabled) return this.chain;
    const bytes = this.method.history.encode(this.header());
    const next = this.chain.then(() => writeFileAtomic(this.path, bytes));
    this.chain = next;
    next.catch(() => undefined); // reported by the next save the run awaits
    return next;
  }

  /**
   * After a resume: the history must hold every record up to the checkpoint. A run killed between
   * writing a checkpoint and its history has lost the records in between; it trains on, without
   * a history (replay would rebuild wrong weights).
   */
  async checkRestored(expected: number): Promise<boolean> {
    if (this.method.history.count === expected) return true;
    this.disabled = true;
    await rm(this.path, { force: true });
    return false;
  }

  /** Read the history of a resumed run (absent: the run saved none yet). */
  async load(): Promise<void> {
    const bytes = await readFile(this.path).catch(() => undefined);
    if (bytes === undefined) return;
    this.method.history.replaceWith(ZoHistory.decode(bytes, this.path).history);
  }
}
