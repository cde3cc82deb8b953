// The studio's method comparisons: the grid (engine/sweep/grid.ts) run one cell at a time as
// ordinary runs of the run store (so each shows on the Runs screen, resumes and exports like any
// run), or sent to a Slurm cluster as one job array whose cells the run manager follows; the
// progress and tables are read from those runs' folders (engine/sweep/read-cells.ts).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CellRecord } from '../../common/sweep-table.js';
import { sweepTables } from '../../common/sweep-table.js';
import { WhetstoneError } from '../../engine/errors.js';
import { createLogger } from '../../engine/log.js';
import { expandGrid, tableShape, type SweepCell } from '../../engine/sweep/grid.js';
import { readCell } from '../../engine/sweep/read-cells.js';
import { writeFileAtomic } from '../../engine/train/run-dir.js';
import type { RunSummary, SweepReport, SweepRequest, SweepSummary } from '../contract.js';
import type { TrainSpec } from '../../engine/protocol.js';
import type { RunManager } from './run-manager.js';

const log = createLogger('sweeps');

interface Stored {
  id: string;
  createdAt: string;
  status: SweepSummary['status'];
  request: SweepRequest;
  /** `unfit`: why the cell was not started (its estimate does not fit). */
  cells: { key: string; runId?: string; unfit?: string }[];
}

/** A comparison this host is running: stopped or not, and the cell (and its run) training now. */
interface Active {
  cancelled: boolean;
  current?: string;
  runId?: string;
}

export class SweepManager {
  /** Sweeps this host is running, and the cell each is on. */
  private readonly active = new Map<string, Active>();

  /**
   * `refusal`: why a cell's run will not fit, from its estimate (undefined when it fits); such a
   * cell is recorded and never started.
   */
  constructor(
    private readonly dir: string,
    private readonly runs: RunManager,
    private readonly refusal: (spec: TrainSpec) => Promise<string | undefined>,
  ) {}

  async start(request: SweepRequest): Promise<SweepSummary> {
    const createdAt = new Date().toISOString();
    const id = `${createdAt.replace(/[:.]/g, '-')}-sweep`;
    // The cells' specs only: main's run store chooses each run's folder.
    const cells = expandGrid({ ...request, out: join(this.dir, id) });
    const stored: Stored = {
      id,
      createdAt,
      status: 'running',
      request,
      cells: cells.map((c) => ({ key: c.key })),
    };
    await mkdir(this.dir, { recursive: true });
    if (request.cluster) {
      // One Slurm job array, a followed run per cell; Slurm judges what fits.
      const runs = await this.runs.submitArray(cells, request.cluster, id);
      runs.forEach((run, i) => (stored.cells[i]!.runId = run.id));
    }
    await this.save(stored);
    this.active.set(id, { cancelled: false });
    const driving = request.cluster ? this.follow(stored) : this.drive(stored, cells);
    void driving.catch((err: Error) => log.error(`sweep ${id}: ${err.message}`));
    return this.summary(stored);
  }

  async list(): Promise<SweepSummary[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    const all = await Promise.all(ids.map(async (id) => this.summary(await this.read(id))));
    return all.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The sweep with every cell's record and the tables so far. */
  async report(id: string): Promise<SweepReport> {
    const stored = await this.read(id);
    const summary = await this.summary(stored);
    const records: CellRecord[] = [];
    for (const cell of stored.cells) {
      const run = cell.runId && (await this.runs.summary(cell.runId).catch(() => undefined));
      const read = run ? await readCell(run.dir, cell.key) : undefined;
      records.push(read ?? unread(cell, stored, run || undefined));
    }
    return { ...summary, records, tables: sweepTables(tableShape(stored.request), records) };
  }

  /** Stop after the cell training now, which is cancelled too (it keeps its checkpoint). */
  async cancel(id: string): Promise<SweepSummary> {
    const run = this.active.get(id);
    if (!run) throw new WhetstoneError('BAD_ARGUMENT', `Comparison ${id} is not running.`);
    run.cancelled = true;
    const stored = await this.read(id);
    // Here one cell trains at a time; on a cluster every cell of the array may be queued or running.
    const live = stored.request.cluster ? stored.cells.map((c) => c.runId) : [run.runId];
    for (const runId of live) if (runId) await this.runs.cancel(runId).catch(() => undefined);
    return this.summary(stored);
  }

  /** A cluster comparison: its cells' runs are followed by the run manager; wait for them all. */
  private follow(stored: Stored): Promise<void> {
    return this.track(stored, async () => {
      for (const cell of stored.cells) if (cell.runId) await this.runs.settled(cell.runId);
    });
  }

  /** The cells one after another, each a run of the store. */
  private drive(stored: Stored, cells: SweepCell[]): Promise<void> {
    return this.track(stored, async (state) => {
      for (const [i, cell] of cells.entries()) {
        if (state.cancelled) break;
        state.current = cell.key;
        const unfit = await this.refusal(cell.spec);
        if (unfit !== undefined) {
          stored.cells[i]!.unfit = unfit;
          await this.save(stored);
          continue;
        }
        // The store puts the run in a folder of its own (the spec's `out` is replaced).
        const run = await this.runs.start(cell.spec);
        state.runId = run.id;
        // Stopped while this run was being started: it stops too.
        if (state.cancelled) await this.runs.cancel(run.id).catch(() => undefined);
        stored.cells[i]!.runId = run.id;
        await this.save(stored);
        await this.runs.settled(run.id);
      }
    });
  }

  /** Run a comparison's `work` and record how it ended: done, cancelled, or interrupted. */
  private async track(stored: Stored, work: (state: Active) => Promise<void>): Promise<void> {
    const state = this.active.get(stored.id)!;
    try {
      await work(state);
      stored.status = state.cancelled ? 'cancelled' : 'done';
    } catch (err) {
      stored.status = 'interrupted';
      throw err;
    } finally {
      this.active.delete(stored.id);
      await this.save(stored);
    }
  }

  private async summary(stored: Stored): Promise<SweepSummary> {
    const state = this.active.get(stored.id);
    let done = 0;
    for (const cell of stored.cells) {
      if (cell.unfit !== undefined) done++;
      if (!cell.runId) continue;
      const run = await this.runs.summary(cell.runId).catch(() => undefined);
      if (run && run.status !== 'running' && run.status !== 'starting' && run.status !== 'paused')
        done++;
    }
    // A sweep this host is not running but whose file says running: its host stopped.
    const status = stored.status === 'running' && !state ? 'interrupted' : stored.status;
    return {
      id: stored.id,
      createdAt: stored.createdAt,
      status,
      request: stored.request,
      cells: stored.cells,
      done,
      total: stored.cells.length,
      ...(state?.current && { current: state.current }),
    };
  }

  private save(stored: Stored): Promise<void> {
    return writeFileAtomic(join(this.dir, `${stored.id}.json`), JSON.stringify(stored, null, 2));
  }

  private async read(id: string): Promise<Stored> {
    const text = await readFile(join(this.dir, `${id}.json`), 'utf8').catch(() => undefined);
    if (text === undefined)
      throw new WhetstoneError('BAD_ARGUMENT', `There is no comparison ${id}.`);
    return JSON.parse(text) as Stored;
  }
}

/**
 * A cell without a readable run folder: never started, or refused before its engine wrote its
 * spec (a run that will not fit ends there, with the refusal in its events).
 */
function unread(cell: Stored['cells'][number], stored: Stored, run?: RunSummary): CellRecord {
  const { key } = cell;
  const [method = '', scheme = '', seed = 'seed0'] = key.split('.');
  const status: CellRecord['status'] =
    cell.unfit !== undefined
      ? 'does-not-fit'
      : run === undefined
        ? 'not-run'
        : run.error?.code === 'DEVICE_LIMIT'
          ? 'does-not-fit'
          : run.status === 'failed'
            ? 'failed'
            : 'unfinished';
  const note =
    cell.unfit ?? run?.error?.message ?? (stored.status === 'cancelled' ? 'cancelled' : undefined);
  return {
    key,
    method,
    scheme,
    seed: Number(seed.slice(4)),
    template: !key.endsWith('.no-template'),
    status,
    losses: [],
    ...(note !== undefined && { note }),
  };
}
