// A run is a folder: spec.json (what was asked), events.jsonl (append-only, one event a line),
// log.txt (human-readable), checkpoints/. It outlives the process that trains it, so an app can
// reattach to it and a killed run can be resumed.
import { appendFile, mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { upgradeStoredSpec } from '../protocol.js';

export const RUN_FILES = {
  spec: 'spec.json',
  events: 'events.jsonl',
  log: 'log.txt',
  checkpoints: 'checkpoints',
} as const;

/** Write `text` to `path` through a temporary file, fsync and rename: never half-written. */
export async function writeFileAtomic(path: string, text: string | Uint8Array): Promise<void> {
  const temp = `${path}.partial-${process.pid}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

export class RunDir {
  private writes = Promise.resolve();
  /** The first append that failed (disk full, folder removed); `flush` reports it. */
  private failure: Error | undefined;

  private constructor(readonly dir: string) {}

  /** Create a new run folder; refuses a folder that already holds a run. */
  static async create(dir: string, spec: unknown): Promise<RunDir> {
    await mkdir(dir, { recursive: true });
    const existing = await readdir(dir);
    if (existing.includes(RUN_FILES.spec)) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${dir} already holds a run.`,
        `Continue it with: whetstone resume --run ${dir}, or choose another --out.`,
      );
    }
    await mkdir(join(dir, RUN_FILES.checkpoints), { recursive: true });
    await writeFileAtomic(join(dir, RUN_FILES.spec), `${JSON.stringify(spec, null, 2)}\n`);
    return new RunDir(dir);
  }

  /** Open an existing run and read its spec. */
  static async open(dir: string): Promise<{ run: RunDir; spec: unknown }> {
    let text: string;
    try {
      text = await readFile(join(dir, RUN_FILES.spec), 'utf8');
    } catch {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${dir} is not a run folder (no ${RUN_FILES.spec}).`,
        'Pass the folder a `whetstone train --out` created.',
      );
    }
    try {
      // Runs written before a field was renamed resume with the current names.
      return { run: new RunDir(dir), spec: upgradeStoredSpec(JSON.parse(text)) };
    } catch (err) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${join(dir, RUN_FILES.spec)} is not valid JSON: ${(err as Error).message}`,
      );
    }
  }

  get checkpointsDir(): string {
    return join(this.dir, RUN_FILES.checkpoints);
  }

  /** Append one event line (writes are serialised, so lines never interleave). */
  event(event: object): Promise<void> {
    const line = `${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`;
    return this.append(RUN_FILES.events, line);
  }

  log(message: string): Promise<void> {
    const line = `${new Date().toISOString()} ${message}\n`;
    return this.append(RUN_FILES.log, line);
  }

  /** Queue an append; a failure is kept for `flush` instead of rejecting a promise nobody awaits. */
  private append(file: string, line: string): Promise<void> {
    this.writes = this.writes
      .then(() => appendFile(join(this.dir, file), line))
      .catch((err: Error) => {
        this.failure ??= err;
      });
    return this.writes;
  }

  /** Wait for pending appends. */
  async flush(): Promise<void> {
    await this.writes;
    if (this.failure) {
      throw new WhetstoneError(
        'INTERNAL',
        `Could not write to the run folder ${this.dir}: ${this.failure.message}`,
        'Check that the disk has space and the folder still exists; the checkpoints hold the progress.',
      );
    }
  }

  /** Every event of the run so far (a line cut short by a kill is skipped). */
  async events(): Promise<Record<string, unknown>[]> {
    const text = await readFile(join(this.dir, RUN_FILES.events), 'utf8').catch(() => '');
    const out: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // The last line of a killed run may be partial.
      }
    }
    return out;
  }
}
